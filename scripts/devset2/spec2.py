"""Authored spec of LectureFind dev collection #2: sources, lectures, queries.

Lectures show real pages of real decks (rendered with pdftoppm); the narration
reads the page's own title and bullet items (in the deck's language), taken
from the PDF text layer (pdftotext -bbox-layout).  The build lecture (B01)
reveals one bullet item per build: items not yet revealed are painted over
with the page background, the way beamer's \\pause shows them.
"""

_PT = {"package": "packaging-tutorial", "version": "0.29", "author": "Lucas Nussbaum (translations: Debian l10n teams)",
       "license": "GPL-3+ or CC-BY-SA-3.0 (/usr/share/doc/packaging-tutorial/copyright)",
       "copyright": "usr/share/doc/packaging-tutorial/copyright",
       "marker_re": "\u25b6|\\d", "title": "Debian Packaging Tutorial (version 0.29, 2021-11-03)"}
_DIR = "usr/share/doc/packaging-tutorial/"
SOURCES = {
    "pt_en": dict(_PT, path=_DIR + "packaging-tutorial.pdf", lang="en",
                  sha256="cc7c8684cf47b66bbec047f2a0d074e5a326848d8f9de8ab17daa19759e801ae"),
    "pt_de": dict(_PT, path=_DIR + "packaging-tutorial.de.pdf", lang="de",
                  sha256="96d18205bce47ab32c0c30cb9eb1eff58948ec43ec9ae976162144bd5faf2a26"),
    "pt_fr": dict(_PT, path=_DIR + "packaging-tutorial.fr.pdf", lang="fr",
                  sha256="9cb48e9cf55785b8a7d4bec2c90a59b55b97a9f4e5d5726f8ee1e5c9fabe1d6c"),
    "pt_es": dict(_PT, path=_DIR + "packaging-tutorial.es.pdf", lang="es",
                  sha256="458efe803b994d32c3ea7ee71489ba62297fe2dee048732deacf5ea952577740"),
    "pt_pt": dict(_PT, path=_DIR + "packaging-tutorial.pt.pdf", lang="pt",
                  sha256="8152f9c002ba55af6eb5b211e1c0967d97a28341becdc768d1a172fa528261a3"),
    "fonts": {"package": "texlive-font-utils", "version": "2022.20230122-4",
              "path": "usr/share/doc/texlive-doc/fonts/fontinst/talks/et99-font-tutorial.pdf",
              "copyright": "usr/share/doc/texlive-font-utils/copyright",
              "title": "Surviving the TeX font encoding mess (EuroTeX '99, Heidelberg)",
              "author": "Ulrik Vieth, Taco Hoekwater", "lang": "en",
              "license": "LPPL (fontinst entry in /usr/share/doc/texlive-font-utils/Licenses.gz; texlive copyright file)",
              "marker_re": "\u2022|\u2013",
              "sha256": "0a38338c770bdeb940f6e7653fba6d0e4bc37f8e18489d294ef160931a2cc256",
              "speech_fixes": [(r"L A TEX", "LaTeX"), (r"\bLATEX\b", "LaTeX"), (r"pdfTEX", "pdf TeX"), (r"\bTEX", "TeX"),
                               (r"METAFONT", "Metafont"), (r"\(ASAJ\)", ""), (r"\(SPQR\)", "")]},
}

# pages are the same topic in every language (the decks are page-aligned for pp. 1-89);
# no content page is shown in two lectures (p1, the title page, opens L01 and L02).
LECTURES = [
    {"id": "L01", "file": "videos/lecture01_debian_source_packages.mp4", "deck": "pt_en", "lang": "en",
     "title": "Debian packaging: anatomy of a source package", "pages": [1, 12, 14, 15, 16, 17, 19, 20],
     "width": 1280, "height": 720, "lead_in_s": 0.0, "bg": (0, 0, 0),
     "voice": "en-us", "speed": 165, "audio_fx": None, "seed": 201},
    {"id": "L02", "file": "videos/lecture02_debian_maintaining_packages.mp4", "deck": "pt_en", "lang": "en",
     "title": "Debian packaging: maintaining packages in Debian", "pages": [1, 46, 47, 49, 50, 51, 53, 54],
     "width": 1280, "height": 720, "lead_in_s": 1.0, "bg": (16, 16, 16),
     "voice": "en-us", "speed": 170, "audio_fx": "room", "seed": 202},
    {"id": "B01", "file": "videos/lecture03_tex_fonts_incremental.mp4", "deck": "fonts", "lang": "en",
     "title": "Surviving the TeX font encoding mess (incremental builds)", "pages": [5, 7, 9, 10, 22, 28, 12],
     "builds": True, "min_slide": 6.0, "tail_range": (1.2, 3.0),
     "width": 1280, "height": 720, "lead_in_s": 2.0, "bg": (200, 200, 200),
     "voice": "en-gb-x-rp", "speed": 175, "audio_fx": "noise", "seed": 203},
    {"id": "G01", "file": "videos/vorlesung04_debian_pakete_de.mp4", "deck": "pt_de", "lang": "de",
     "title": "Debian-Paketier-Anleitung (Auszug)", "pages": [1, 5, 6, 8, 21, 26, 28],
     "width": 960, "height": 540, "lead_in_s": 1.5, "bg": (40, 40, 40),
     "voice": "de", "speed": 160, "audio_fx": "noise", "seed": 204},
    {"id": "F01", "file": "videos/cours05_paquets_debian_fr.mp4", "deck": "pt_fr", "lang": "fr",
     "title": "Tutoriel : la construction de paquets Debian (extrait)", "pages": [1, 29, 34, 35, 37, 38, 39],
     "width": 1920, "height": 1080, "lead_in_s": 0.0, "bg": (220, 220, 220),
     "voice": "fr-fr", "speed": 165, "audio_fx": None, "seed": 205},
    {"id": "E01", "file": "videos/clase06_paquetes_debian_es.mp4", "deck": "pt_es", "lang": "es",
     "title": "Guía de creación de paquetes Debian (extracto)", "pages": [1, 2, 7, 24, 25, 40, 56],
     "width": 1280, "height": 720, "lead_in_s": 2.5, "bg": (0, 0, 0),
     "voice": "es", "speed": 165, "audio_fx": "room", "seed": 206},
    {"id": "P01", "file": "videos/aula07_pacotes_debian_pt.mp4", "deck": "pt_pt", "lang": "pt",
     "title": "Manual de Empacotamento de Debian (excerto)", "pages": [1, 10, 18, 36, 43, 44, 45],
     "width": 854, "height": 480, "lead_in_s": 1.0, "bg": (48, 48, 48),
     "voice": "pt", "speed": 160, "audio_fx": "noise", "seed": 207},
]

QUERIES = []
