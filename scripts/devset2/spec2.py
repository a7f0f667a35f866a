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
     "width": 1600, "height": 900, "lead_in_s": 0.0, "bg": (220, 220, 220),
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


# ---------------------------------------------------------------------------
# Queries.  cond = condition (written as queries.jsonl "kind" and "condition")
#   ans: [(lecture id, slide key)]; key "pN" = page N, "pNbK" = build K of page N (B01)
#   key: terms that must be in the answer slide's visible or spoken text (checked);
#        lookalike: must also be absent from the twin lecture; builds: absent from
#        the previous build state; negative: absent from the whole collection.
#   paraphrase: must share no content word with the answer slide (textcheck.py).
# ---------------------------------------------------------------------------
def Q(cond, text, ans=(), key=(), **kw):
    return dict(cond=cond, text=text, ans=list(ans), key=list(key), **kw)


def LA(text, ans, key, twin):
    return Q("lookalike", text, [ans], key, twin=[twin])


def PA(text, *ans):
    return Q("paraphrase", text, list(ans))


QUERIES = [
    # ---- new decks (English, packaging-tutorial) -----------------------------------
    Q("newdeck", "which file holds the upstream source in a 3.0 (quilt) source package?", [("L01", "p12")], ["orig.tar.gz"]),
    Q("newdeck", "how do I download an existing source package from the Debian archive?", [("L01", "p14")], ["apt-get source"]),
    Q("newdeck", "what are the main files in the debian/ directory?", [("L01", "p16")], ["copyright", "changelog"]),
    Q("newdeck", "what is the difference between Architecture: any and Architecture: all packages?", [("L01", "p19")], ["Architecture: all"]),
    Q("newdeck", "what should I check before asking for sponsorship of my package?", [("L02", "p50")], ["lintian"]),
    Q("newdeck", "what does the RFA state of a package mean?", [("L02", "p47")], ["Request For Adopter"]),
    Q("newdeck", "where do I send commands to change the status of a bug in the BTS?", [("L02", "p54")], ["control@bugs.debian.org"]),
    # ---- look-alike lectures L01 / L02: only one of them answers --------------------
    LA("which tool creates the debian/ directory when I start packaging new upstream software?", ("L01", "p15"), ["dh_make"], "L02"),
    LA("which mailing list of Debian mentors can I ask for help with packaging?", ("L02", "p51"), ["debian-mentors"], "L01"),
    LA("which targets of debian/rules are required?", ("L01", "p20"), ["build-indep"], "L02"),
    LA("how do I announce that I intend to package a new program for Debian?", ("L02", "p49"), ["reportbug wnpp"], "L01"),
    LA("how do I add a new entry to the Debian changelog?", ("L01", "p17"), ["dch -i"], "L02"),
    LA("which Debian dashboard gives a maintainer a TODO list?", ("L02", "p53"), ["Maintainer Dashboard"], "L01"),
    # ---- incremental builds (B01): the answer is one build state ---------------------
    Q("builds", "at what point does the speaker say that the TeX typesetter only sees font metrics?", [("B01", "p5b3")], ["nothing else"]),
    Q("builds", "when are virtual fonts said to be interpreted by DVI drivers or the pdfTeX back-end?", [("B01", "p9b3")], ["interpreted by DVI drivers"]),
    Q("builds", "when does the lecture say that glyph bitmaps are accessed by font position?", [("B01", "p7b7")], ["font position"]),
    Q("builds", "when is the Type 42 font, a TrueType font in a PostScript wrapper, introduced?", [("B01", "p10b12")], ["PostScript wrapper"]),
    Q("builds", "when is it said that oldstyle figures cannot be implemented or faked with standard fonts only?", [("B01", "p22b4")], ["cannot be implemented or faked"]),
    Q("builds", "at which point does the speaker say fontinst cannot add checksums to PL and VPL files?", [("B01", "p28b10")], ["checksums"]),
    Q("builds", "when does the list of font attributes reach the series, a combination of weight and width?", [("B01", "p12b3")], ["combination of weight and width"]),
    Q("builds", "when is faking small caps by scaling and letterspacing given as an application of virtual fonts?", [("B01", "p9b13")], ["faking small caps"]),
    # ---- paraphrases sharing no content word with the answer slide -------------------
    PA("can a single recipe produce multiple installable outputs?", ("L01", "p12")),
    PA("how do I fetch ancient editions of a program that were published long ago?", ("L01", "p14")),
    PA("is there a command that clones the whole thing straight from its git repo?", ("L01", "p14")),
    PA("what should I call the pristine tarball from the authors before I begin?", ("L01", "p15")),
    PA("which internet standard does the syntax of those descriptors borrow from?", ("L01", "p16")),
    PA("how do I get a reported defect marked fixed just by mentioning its ticket number in my history log?", ("L01", "p17")),
    PA("should platform-neutral scripted modules be compiled separately per processor family?", ("L01", "p19")),
    PA("which mandatory entry point wipes away leftovers from a previous compile?", ("L01", "p20")),
    PA("what bad habit do volunteers show when they vanish right after their app gets accepted?", ("L02", "p46")),
    PA("how can I find out which abandoned software on my computer nobody takes care of anymore?", ("L02", "p47")),
    PA("who gets to cast ballots in the organisation's elections?", ("L02", "p49")),
    PA("why shouldn't I bother a mentor with half-finished work?", ("L02", "p50")),
    PA("is there a discussion forum for writing in my mother tongue?", ("L02", "p51")),
    PA("is there a web page collecting all the work one individual takes care of?", ("L02", "p53")),
    PA("my laptop cannot deliver outgoing messages: how do I still file a defect?", ("L02", "p54")),
    PA("when does the speaker claim the typesetting engine cares about measurements alone?", ("B01", "p5b3")),
    PA("when does the lecturer say typefaces take various forms according to who is looking?", ("B01", "p5b2")),
    PA("at what moment are raster images made of dark and light dots described?", ("B01", "p7b5")),
    PA("when are we told that old-fashioned numerals are impossible with just the basic typefaces?", ("B01", "p22b4")),
    PA("which moment introduces the first characteristic, what the overall design group is titled?", ("B01", "p12b2")),
    PA("when is turning Adobe measurement data into the tool's own representation mentioned?", ("B01", "p28b2")),
    PA("when are we told the layout engine cannot tell these composite faces apart from ordinary ones?", ("B01", "p9b2")),
    # ---- cross-lingual: English question, non-English lecture ------------------------
    Q("xling", "how many volunteers build Debian, and since when has it promoted free software?", [("G01", "p5")], ["1000", "1993"], lang="en", target_lang="de"),
    Q("xling", "which packaging helper is used by 98% of packages?", [("G01", "p21")], ["98%"], lang="en", target_lang="de"),
    Q("xling", "which static analyzer checks a built package for problems?", [("F01", "p29")], ["lintian"], lang="en", target_lang="fr"),
    Q("xling", "how do I check manually for a new upstream version listed in debian/watch?", [("F01", "p38")], ["uscan"], lang="en", target_lang="fr"),
    Q("xling", "what are the three members of the ar archive inside a .deb file?", [("E01", "p7")], ["data.tar.gz"], lang="en", target_lang="es"),
    Q("xling", "why do some people dislike CDBS?", [("E01", "p24")], ["odian"], lang="en", target_lang="es"),
    Q("xling", "how long must a package stay in unstable before it migrates to testing?", [("P01", "p43")], ["10 dias"], lang="en", target_lang="pt"),
    Q("xling", "which suite carries urgent updates that are not security related, such as antivirus databases?", [("P01", "p45")], ["stable-updates"], lang="en", target_lang="pt"),
    # ---- native-language questions -----------------------------------------------------
    Q("native", "Welche Werkzeuge brauche ich, um Debian-Pakete zu erstellen?", [("G01", "p8")], ["devscripts"], lang="de"),
    Q("native", "Welchen Paketierungshelfer sollte ich für ein neues Paket verwenden?", [("G01", "p26")], ["Marktanteil"], lang="de"),
    Q("native", "Comment les correctifs sont-ils appliqués lors de la construction d'un paquet ?", [("F01", "p35")], ["quilt"], lang="fr"),
    Q("native", "Comment interagir avec l'utilisateur pendant l'installation d'un paquet ?", [("F01", "p37")], ["debconf"], lang="fr"),
    Q("native", "¿Cómo puedo usar una versión más reciente de un paquete en Debian estable?", [("E01", "p40")], ["mutt"], lang="es"),
    Q("native", "¿Qué herramientas de Debian ayudan a colaborar con Ubuntu?", [("E01", "p56")], ["Launchpad"], lang="es"),
    Q("native", "Como recompilar o pacote dash a partir do pacote fonte?", [("P01", "p10")], ["apt-get source dash"], lang="pt"),
    Q("native", "O que acontece quando a equipa de lançamento congela a testing?", [("P01", "p44")], ["oldstable"], lang="pt"),
    # ---- negatives: nothing in the collection answers them -----------------------------
    Q("negative", "how do I set up a RAID 1 mirror with mdadm?", key=["mdadm"]),
    Q("negative", "what is the worst-case time complexity of quicksort?", key=["quicksort"]),
    Q("negative", "Wie erstelle ich ein RPM-Paket mit rpmbuild?", key=["rpmbuild"], lang="de"),
    Q("negative", "comment installer une application Flatpak depuis Flathub ?", key=["flatpak"], lang="fr"),
    Q("negative", "how do I embed OpenType variable fonts in a web page with CSS?", key=["opentype", "css"]),
    Q("negative", "¿Cómo se empaqueta un módulo de Node.js con npm?", key=["npm"], lang="es"),
]
