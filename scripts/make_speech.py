"""Narrated lecture audio in other languages (espeak-ng), for the multilingual speech tests and benchmark.

    python3 scripts/make_speech.py OUT_DIR [--langs es de fr]     # OUT_DIR/lecture_<lang>.wav + .txt

Each language gets a short lecture on eigenvalues written in that language (the narration text is saved
beside the audio, for WER). Needs Debian's espeak-ng (scripts/setup.sh --test installs it).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess

LECTURES = {
    "es": ("Valores propios y vectores propios. Un vector propio de una matriz es un vector que solo cambia de "
           "longitud cuando la matriz actúa sobre él. El factor de escala se llama valor propio. Para encontrar los "
           "valores propios resolvemos la ecuación característica, el determinante de A menos lambda por la "
           "identidad igual a cero. Este polinomio tiene grado n, así que una matriz de tamaño n tiene como máximo "
           "n valores propios distintos."),
    "de": ("Eigenwerte und Eigenvektoren. Ein Eigenvektor einer Matrix ist ein Vektor, dessen Richtung sich nicht "
           "ändert, wenn die Matrix auf ihn wirkt. Der Streckungsfaktor heißt Eigenwert. Um die Eigenwerte zu "
           "finden, lösen wir die charakteristische Gleichung: die Determinante von A minus Lambda mal Einheitsmatrix "
           "ist gleich null. Das Wort eigen ist Deutsch und bedeutet so viel wie selbst oder zugehörig."),
    "fr": ("Valeurs propres et vecteurs propres. Un vecteur propre d'une matrice est un vecteur dont la direction ne "
           "change pas lorsque la matrice agit sur lui. Le facteur d'échelle s'appelle la valeur propre. Pour trouver "
           "les valeurs propres, on résout l'équation caractéristique : le déterminant de A moins lambda fois "
           "l'identité est égal à zéro. Une matrice de taille n possède au plus n valeurs propres distinctes."),
    "pt": ("Autovalores e autovetores. Um autovetor de uma matriz é um vetor cuja direção não muda quando a matriz "
           "atua sobre ele. O fator de escala chama-se autovalor. Para encontrar os autovalores resolvemos a equação "
           "característica: o determinante de A menos lambda vezes a identidade é igual a zero."),
}


def speak(text: str, lang: str, out_wav: str, wpm: int = 150) -> str:
    """`text` spoken by espeak-ng's `lang` voice into a 16 kHz mono WAV."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    raw = out_wav + ".raw.wav"
    subprocess.run([exe, "-v", lang, "-s", str(wpm), "-w", raw, text], check=True, capture_output=True)
    from lecturefind.media.ffmpeg import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-i", raw, "-ar", "16000", "-ac", "1", out_wav],
                   check=True, capture_output=True)
    os.unlink(raw)
    return out_wav


def make(out_dir: str, langs: list[str]) -> dict[str, str]:
    os.makedirs(out_dir, exist_ok=True)
    out = {}
    for lang in langs:
        wav = os.path.join(out_dir, f"lecture_{lang}.wav")
        if not os.path.exists(wav):
            speak(LECTURES[lang], lang, wav)
        with open(os.path.join(out_dir, f"lecture_{lang}.txt"), "w", encoding="utf-8") as f:
            f.write(LECTURES[lang])
        out[lang] = wav
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--langs", nargs="+", default=sorted(LECTURES))
    a = ap.parse_args()
    for lang, path in make(a.out, a.langs).items():
        print(lang, path)
