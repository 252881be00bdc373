"""LLM rephrasing in several styles and languages; see DESIGN.md."""
