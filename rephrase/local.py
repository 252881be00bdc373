"""Local generation with `transformers` for small models (a model folder given by path; nothing is
downloaded). Requests from many passages are gathered into batches and generated together in a worker
thread, so the event loop keeps feeding it while the model runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from curation.core import CurationError
from rephrase.backend import Backend, Completion, Request, RequestFailed, Usage

# Gemma's turn format (the GGUF's tokenizer comes without a template); Gemma has no system role, so the
# system prompt opens the first user turn.
_GEMMA = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}<start_of_turn>user\n"
          "{{ m['content'] }}\n\n{% elif m['role'] == 'user' %}{% if loop.first or messages[loop.index0 - 1]"
          "['role'] != 'system' %}<start_of_turn>user\n{% endif %}{{ m['content'] }}<end_of_turn>\n{% else %}"
          "<start_of_turn>model\n{{ m['content'] }}<end_of_turn>\n{% endif %}{% endfor %}"
          "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")
CHAT_TEMPLATES = {"gemma": _GEMMA}


class TransformersBackend(Backend):
    """Generate with a causal language model from a local folder (config, weights, tokenizer).

    Args:
        model: path of the model folder (or a GGUF file's folder with `gguf_file`)
        batch_size: passages generated together
        device: torch device ("cpu", "cuda")
        gguf_file: name of a GGUF weights file inside the folder (needs the `gguf` and `accelerate` packages)
        chat_template: a Jinja chat template, or the name of one we ship ("gemma"), for tokenizers that come
            without one (e.g. loaded from GGUF)
    """

    END_OF_TURN = ("<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|end|>", "<|endoftext|>")

    def __init__(self, model: str, batch_size: int = 8, device: str = "cpu", gguf_file: str | None = None,
                 chat_template: str | None = None):
        self.path = model
        self.model = Path(model).name or model
        self.batch_size = batch_size
        self.device = device
        self.gguf_file = gguf_file
        self.usage = Usage()
        self._lm = self._tok = None
        self._queue: list[tuple[Request, asyncio.Future]] = []
        self._worker: asyncio.Task | None = None
        self._load()  # a missing or broken model is an error now, not in the middle of a run
        if chat_template:
            self._tok.chat_template = CHAT_TEMPLATES.get(chat_template, chat_template)
        self._stop = self._stop_ids()

    def _load(self):
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise CurationError(f"the transformers backend needs transformers and torch ({e})") from None
        if not Path(self.path).exists():
            raise CurationError(f"model '{self.path}': no such folder")
        kwargs = {"local_files_only": True}
        if self.gguf_file:
            kwargs["gguf_file"] = self.gguf_file
        try:
            self._tok = AutoTokenizer.from_pretrained(self.path, **kwargs)
            self._lm = AutoModelForCausalLM.from_pretrained(self.path, **kwargs).to(self.device).eval()
        except (OSError, ValueError, KeyError) as e:
            raise CurationError(f"model '{self.path}': cannot load ({e.__class__.__name__}: {e})") from None
        self._tok.padding_side = "left"
        if self._tok.pad_token is None:
            self._tok.pad_token = self._tok.eos_token or self._tok.unk_token
        self._torch = torch

    def prompt_text(self, messages: list[dict]) -> str:
        """The chat template of the tokenizer when it has one, else the messages as plain paragraphs."""
        if getattr(self._tok, "chat_template", None):
            return self._tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return "\n\n".join(m["content"] for m in messages) + "\n\n"

    @property
    def context_length(self) -> int | None:
        return getattr(self._lm.config, "max_position_embeddings", None)

    async def complete(self, request: Request) -> Completion:
        context = self.context_length
        if context:
            n = len(self._tok(self.prompt_text(request.messages), add_special_tokens=False)["input_ids"])
            if n + request.max_tokens > context:
                self.usage.failed += 1
                raise RequestFailed("prompt_too_long", f"{n} prompt + {request.max_tokens} new tokens > the "
                                                       f"model's context of {context}")
        fut = asyncio.get_running_loop().create_future()
        self._queue.append((request, fut))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await fut

    async def _drain(self):
        while self._queue:
            await asyncio.sleep(0)  # let the other passages of this batch queue up first
            group: dict[tuple, list] = {}
            for req, fut in self._queue[: self.batch_size]:
                group.setdefault((req.max_tokens, req.temperature, req.top_p), []).append((req, fut))
            del self._queue[: self.batch_size]
            for items in group.values():
                try:
                    results = await asyncio.to_thread(self._generate, [r for r, _ in items])
                except Exception as e:  # a generation error fails these passages, not the run
                    for _, fut in items:
                        if not fut.done():
                            fut.set_exception(e)
                    continue
                for (_, fut), c in zip(items, results):
                    self.usage.add(c)
                    if not fut.done():
                        fut.set_result(c)

    def _generate(self, requests: list[Request]) -> list[Completion]:
        torch = self._torch
        tok = self._tok
        prompts = [self.prompt_text(r.messages) for r in requests]
        enc = tok(prompts, return_tensors="pt", padding=True,
                  add_special_tokens=not getattr(tok, "chat_template", None))
        enc = {k: v.to(self.device) for k, v in enc.items()}
        r0 = requests[0]
        sample = r0.temperature > 0
        gen_kwargs = {"max_new_tokens": r0.max_tokens, "do_sample": sample, "pad_token_id": tok.pad_token_id,
                      "eos_token_id": sorted(self._stop)}
        if sample:
            gen_kwargs.update(temperature=r0.temperature, top_p=r0.top_p)
        with torch.inference_mode():
            out = self._lm.generate(**enc, **gen_kwargs)
        width = enc["input_ids"].shape[1]
        eos = self._stop
        results = []
        for i in range(len(requests)):
            new = out[i, width:].tolist()
            stop = next((k for k, t in enumerate(new) if t in eos), None)
            ids = new if stop is None else new[:stop]
            results.append(Completion(
                text=tok.decode(ids, skip_special_tokens=True),
                finish_reason="stop" if stop is not None or len(new) < r0.max_tokens else "length",
                prompt_tokens=int(enc["attention_mask"][i].sum()), completion_tokens=len(ids) + (stop is not None)))
        return results

    def _stop_ids(self) -> set[int]:
        """End of sequence, and the end-of-turn tokens of the common chat formats the vocabulary has."""
        eos = getattr(self._lm.generation_config, "eos_token_id", None)
        if eos is None:
            eos = self._tok.eos_token_id
        ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        vocab = self._tok.get_vocab()
        ids |= {vocab[t] for t in self.END_OF_TURN if t in vocab}
        return ids
