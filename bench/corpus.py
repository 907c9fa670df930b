"""Synthetic arXiv metadata snapshot: the public bulk dump format, one JSON object a line.

Usable as a module (`generate(n, seed)` yields dicts, `iter_lines` yields JSON lines,
`write` writes a file) and as a command:

    python bench/corpus.py --papers 200000 --out bench/out/corpus.jsonl [--seed 0]

Properties the benchmarks rely on:
- deterministic for (n, seed), and for a fixed author pool (`people=`) a prefix of a larger
  corpus is the smaller corpus;
- streaming: memory does not grow with n (the author pool is never materialised: an author
  is a number mapped to a name by arithmetic);
- ids are new-style and unique ("2301.00001"), the month rolling over every 30,000 papers;
- authors repeat across papers: a pool of about n/3 people drawn with a Zipf-like skew;
- abstracts are 600-1500 characters of words from a vocabulary of a few thousand with
  Zipf-like frequencies (`vocabulary(seed)` exposes it, ranked, for search benchmarks).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import math
import multiprocessing
import os
import random
import sys
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

PER_MONTH = 30_000
START_YEAR, START_MONTH = 2023, 1
SENTENCE_POOL = 1 << 14
TAPE_SIZE = 1 << 18
BLOCK = 1_000  # papers per random stream
CHUNK = 10 * BLOCK  # papers per shard of a parallel write
MAX_SENTENCE = 190
VOCABULARY_SIZE = 5_000

# ~40 real arXiv categories with rough relative weights (primary-category skew).
CATEGORIES = [
    ("cs.LG", 160), ("cs.CV", 130), ("cs.CL", 110), ("cs.AI", 70), ("stat.ML", 35),
    ("cs.RO", 30), ("quant-ph", 45), ("hep-th", 30), ("hep-ph", 30), ("astro-ph.GA", 18),
    ("astro-ph.CO", 16), ("astro-ph.SR", 14), ("astro-ph.HE", 12), ("gr-qc", 18),
    ("cond-mat.mtrl-sci", 22), ("cond-mat.str-el", 15), ("cond-mat.mes-hall", 15),
    ("cond-mat.stat-mech", 12), ("cond-mat.soft", 9), ("math.OC", 20), ("math.PR", 15),
    ("math.CO", 16), ("math.AP", 15), ("math.NA", 14), ("math.AG", 10), ("math.NT", 9),
    ("math.ST", 8), ("eess.IV", 14), ("eess.SP", 16), ("eess.SY", 14), ("eess.AS", 8),
    ("cs.CR", 22), ("cs.SE", 15), ("cs.IR", 14), ("cs.DC", 12), ("cs.NE", 8), ("cs.HC", 12),
    ("cs.DS", 9), ("physics.optics", 10), ("q-bio.NC", 7), ("econ.EM", 5), ("physics.flu-dyn", 9),
]  # fmt: skip

LICENSES = [
    ("http://arxiv.org/licenses/nonexclusive-distrib/1.0/", 55),
    ("http://creativecommons.org/licenses/by/4.0/", 28),
    ("http://creativecommons.org/licenses/by-nc-sa/4.0/", 5),
    ("http://creativecommons.org/licenses/by-nc-nd/4.0/", 4),
    ("http://creativecommons.org/licenses/by-sa/4.0/", 2),
    ("http://creativecommons.org/publicdomain/zero/1.0/", 1),
    (None, 5),
]

FIRST_NAMES = """Wei Jing Yang Xin Hao Lei Yu Chen Li Min Jun Tao Yan Hui Fang Ying Zhen Qiang Bo
Kai Hiroshi Takashi Yuki Kenji Akira Satoshi Haruka Minjun Jiwoo Seo-yeon Ji-hoon Hyun Arjun
Priya Rahul Ananya Vikram Sanjay Deepak Kavya Rohan Aditi Nikhil Meera Ravi Sunil Neha Amit
John Michael David James Robert William Thomas Daniel Matthew Andrew Christopher Joseph Mark
Paul Steven Kevin Brian Jason Ryan Eric Peter Sarah Emily Jessica Laura Anna Maria Elena Sofia
Julia Clara Emma Olivia Hannah Lucas Mateo Pablo Javier Carlos Diego Alejandro Jose Luis Miguel
Giulia Marco Luca Francesco Alessandro Matteo Andrea Paolo Chiara Federica Pierre Jean Louis
Camille Julien Nicolas Antoine Mathieu Thibault Margaux Hans Jürgen Klaus Stefan Tobias Lukas
Felix Jonas Katharina Lena Johanna Sven Lars Erik Nils Ingrid Astrid Søren Mads Mikkel Aleksandr
Dmitry Sergey Ivan Nikolai Olga Tatiana Irina Natalia Piotr Tomasz Katarzyna Agnieszka Jan Petr
Ahmed Mohammed Omar Youssef Fatima Aisha Hassan Ali Reza Mehdi Sara Zahra Amir Yosef Noam Tamar
Oren Ayşe Mehmet Emre Elif Kwame Ama Chinedu Ngozi Oluwaseun Thabo Lerato Nguyen Minh Thanh
Linh Quang Joao Beatriz Rafael Gabriel Thiago Fernanda Camila Ines Zoë Chloé Renée José Raúl
Ángel Martín Noé Björn Åsa Øystein"""
FIRST_NAMES = list(dict.fromkeys(FIRST_NAMES.split()))

LAST_NAMES = """Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Gao Luo
Zheng Liang Xie Song Tang Han Feng Deng Cao Peng Zeng Xiao Tian Dong Pan Yuan Cai Jiang Yu Du
Ye Cheng Wei Su Lu Ding Ren Shen Yao Tanaka Suzuki Takahashi Watanabe Ito Yamamoto Nakamura
Kobayashi Kato Yoshida Sato Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim Sharma Patel Singh
Kumar Gupta Reddy Iyer Nair Rao Mehta Joshi Agarwal Banerjee Chatterjee Mukherjee Das Bose
Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Moore Jackson Martin
Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Green Baker
Adams Nelson Hill Campbell Mitchell Roberts Carter Phillips Evans Turner Parker Collins Edwards
Stewart Morris Murphy Cook Rogers Morgan Cooper Peterson Reed Bailey Bell Kelly Howard Ward
Garcia Rodriguez Martinez Hernandez Lopez Gonzalez Perez Sanchez Ramirez Torres Flores Rivera
Gomez Diaz Morales Ortiz Gutierrez Ruiz Alvarez Castillo Jimenez Moreno Romero Navarro Rossi
Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti Costa
Giordano Mancini Lombardi Moretti Barbieri Dubois Durand Lefebvre Leroy Moreau Simon Laurent
Michel Garnier Faure Rousseau Blanc Guerin Müller Schmidt Schneider Fischer Weber Meyer Wagner
Becker Schulz Hoffmann Koch Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun
Hofmann Hansen Nielsen Jensen Pedersen Andersen Larsen Johansson Karlsson Nilsson Eriksson
Larsson Olsson Persson Lindqvist Ivanov Smirnov Kuznetsov Popov Sokolov Lebedev Kozlov Novikov
Morozov Petrov Volkov Nowak Kowalski Wiśniewski Wójcik Kamiński Novák Svoboda Dvořák Yılmaz
Kaya Demir Şahin Çelik Hosseini Ahmadi Rezaei Mohammadi Karimi Cohen Levi Mizrahi Friedman
Okafor Mensah Adeyemi Nkosi Dlamini Nguyen Tran Pham Hoang Phan Vu Silva Santos Oliveira
Souza Pereira Ferreira Almeida Carvalho Gomes Ribeiro Fernandes Costa Nunes O'Brien O'Connor
MacDonald McAllister van_der_Berg van_Dijk de_Vries Jansen de_Jong Bakker Visser Smit Meijer
Mulder de_Groot Bos Vos Peters Hendriks Dekker Brouwer"""
LAST_NAMES = list(dict.fromkeys(w.replace("_", " ") for w in LAST_NAMES.split()))

# Technical words of real abstracts, and function words (the high-frequency head).
FUNCTION_WORDS = """the of and a in to we is for that this with on by are as an our which
from be these can it at its show both using than into not more such between while also two
each over all only through when under how their new""".split()  # noqa: SIM905

TECHNICAL_WORDS = """model models learning method methods data network networks neural results
approach based performance training problem paper propose proposed framework algorithm task
tasks deep time information inference optimization large language image images dataset
datasets representation representations state analysis structure distribution energy field
quantum theory function functions system systems prediction graph graphs loss estimation
generalization transformer transformers attention diffusion generative adversarial reinforcement
policy reward agent agents robust robustness uncertainty bayesian posterior prior sampling
stochastic gradient descent convergence convex nonconvex regularization sparse sparsity kernel
embedding embeddings encoder decoder latent variational autoencoder contrastive supervised
unsupervised semi self pretraining finetuning alignment benchmark benchmarks evaluation
accuracy efficient efficiency scalable scalability parameter parameters layer layers
convolutional recurrent memory retrieval segmentation detection classification regression
clustering tracking reconstruction rendering radiance point cloud depth video temporal spatial
spectral frequency signal noise denoising compression quantization pruning distillation
federated privacy differential adversarial attack defense fairness bias causal counterfactual
explanation interpretability multimodal vision speech text token tokens sequence sequences
reasoning planning control robot manipulation navigation trajectory simulation physics
dynamics equation equations solution solutions boundary nonlinear linear matrix tensor
operator operators manifold geometry topology algebra group symmetry invariant equivariant
lattice spin phase transition entanglement qubit qubits circuit circuits error correction
hamiltonian gauge string black hole gravitational cosmological dark matter galaxy galaxies
stellar star stars redshift emission spectroscopy observation observations telescope survey
particle collider higgs neutrino quark hadron scattering amplitude perturbative lattice
superconducting magnetic electronic band topological material materials phonon photon optical
laser cavity resonance wave waves turbulence flow fluid viscous heat thermal transport diffusion
protein molecular cell gene brain neuron neurons cortex market price risk portfolio econometric
estimator asymptotic consistency confidence hypothesis test statistic regret bandit online
streaming distributed parallel communication wireless channel antenna beamforming spectrum
power grid scheduling allocation game equilibrium mechanism auction combinatorial bound bounds
complexity polynomial approximation theorem proof conjecture prime integer graph coloring
random walk markov chain process processes martingale measure entropy divergence information
theoretic capacity code codes coding decoding security protocol verification software program
programs compiler testing bug vulnerability user users interface recommendation search query
ranking knowledge base question answering summarization translation dialogue instruction prompt
prompting chain thought hallucination safety evaluation human feedback preference scaling
law laws emergent capability capabilities""".split()  # noqa: SIM905

ONSETS = "b br c ch cl cr d dr f fl fr g gr h j k kl l m n p pl pr qu r s sc sh sk sl sp st str t th tr v w z".split()  # noqa: E501, SIM905
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "ia", "io", "ou", "y"]
CODAS = ["", "", "", "n", "r", "l", "s", "t", "m", "nd", "nt", "rk", "st", "x", "ng", "ph"]
SUFFIXES = ["", "", "", "ion", "ity", "ive", "al", "ic", "ing", "er", "ism", "ode", "net",
            "former", "ization", "ometry", "ics", "oid"]  # fmt: skip

COMMENT_PARTS = [
    "{p} pages, {f} figures", "{p} pages", "{p} pages, {f} figures, {t} tables",
    "Accepted at {venue} {year}", "Accepted to {venue} {year}", "To appear in {venue} {year}",
    "{p} pages, {f} figures; v{v}: minor revisions", "Camera-ready version for {venue} {year}",
    "Extended version of the {venue} {year} paper", "Preprint, under review",
]  # fmt: skip
VENUES = [
    "NeurIPS", "ICML", "ICLR", "CVPR", "ICCV", "ECCV", "ACL", "EMNLP", "NAACL", "AAAI", "IJCAI",
    "KDD", "SIGIR", "WWW", "ICRA", "IROS", "CoRL", "STOC", "FOCS", "SODA", "PRL", "Phys. Rev. D",
    "JHEP", "MNRAS", "ApJ", "AISTATS", "COLT", "UAI", "Interspeech",
]  # fmt: skip
JOURNALS = [
    "Phys. Rev. D {v} ({y}) {p}", "Phys. Rev. Lett. {v}, {p} ({y})", "JHEP {m} ({y}) {p}",
    "Astrophys. J. {v} ({y}) {p}", "Mon. Not. Roy. Astron. Soc. {v} ({y}) {p}",
    "Nature Communications {v}, {p} ({y})", "IEEE Trans. Pattern Anal. Mach. Intell. {v} ({y}) {p}",
    "J. Mach. Learn. Res. {v} ({y}) 1-{p}", "Ann. Statist. {v} ({y}) {p}",
    "Commun. Math. Phys. {v} ({y}) {p}-{q}", "Proceedings of {venue} {y}",
]  # fmt: skip
DOI_PREFIXES = ["10.1103/PhysRevD", "10.1103/PhysRevLett", "10.1007/JHEP", "10.3847/1538-4357",
                "10.1093/mnras", "10.1038/s41467", "10.1109/TPAMI", "10.1016/j.jcp",
                "10.1214/aos", "10.1145/3580305"]  # fmt: skip
MATH_SNIPPETS = [
    "$\\mathcal{{O}}(n \\log n)$", "$O(1/\\sqrt{{T}})$", "$\\ell_1$", "$L^2$", "$\\epsilon$",
    "$d \\geq 3$", "$k$", "$\\sqrt{{s}} = 13$ TeV", "$z \\sim 2$", "$N=4$", "$\\alpha$",
    "$\\mathbb{{R}}^d$", "$T_c$", "$\\beta$-VAE", "$p < 0.05$", "$2\\times$",
]  # fmt: skip
OPENERS = ["We propose", "In this paper, we", "We present", "We study", "We introduce",
           "This work investigates", "Our results show that", "We show that", "Recent work on",
           "Experiments demonstrate that", "Moreover,", "Finally, we", "To this end, we",
           "However,", "In particular,", "We further"]  # fmt: skip
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


class _Tables:
    """Everything derived once per seed: vocabulary, word tape, sentence pool, weights."""

    def __init__(self, seed: int):
        rng = random.Random(f"paperfeed-corpus-tables:{seed}")
        words: list[str] = list(dict.fromkeys(FUNCTION_WORDS + TECHNICAL_WORDS))
        seen = set(words)
        while len(words) < VOCABULARY_SIZE:
            syllables = rng.choice((1, 2, 2, 2, 2, 3))
            word = "".join(
                rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)
                for _ in range(syllables)
            ) + rng.choice(SUFFIXES)
            if 4 <= len(word) <= 13 and word not in seen:
                seen.add(word)
                words.append(word)
        # Ranks: function words, then the first technical words, then technical and
        # generated words interleaved, so the Zipf head reads like English and the tail varies.
        head = len(dict.fromkeys(FUNCTION_WORDS))
        known = set(TECHNICAL_WORDS)
        technical = [w for w in words[head:] if w in known]
        generated = [w for w in words[head:] if w not in known]
        rng.shuffle(generated)
        mixed = technical[:120]
        for a, b in itertools.zip_longest(technical[120:], generated):
            mixed.extend(w for w in (a, b) if w is not None)
        self.words = words[:head] + mixed
        self.head = head
        self.word_weights = [1.0 / (rank + 2.7) ** 1.07 for rank in range(len(self.words))]
        self.word_cum = _cumulative(self.word_weights)
        # A long tape of Zipf-drawn words: sentences of new papers are slices of it at random
        # offsets (a slice costs far less than drawing each word).
        self.tape = self.draw_words(rng, TAPE_SIZE)
        self.title_tape = self.draw_words(rng, TAPE_SIZE // 4, skip=head)
        self.cat_names = [c for c, _ in CATEGORIES]
        self.cat_cum = _cumulative([w for _, w in CATEGORIES])
        self.lic_values = [v for v, _ in LICENSES]
        self.lic_cum = _cumulative([w for _, w in LICENSES])
        self.pool = [self._sentence(rng) for _ in range(SENTENCE_POOL)]

    def draw_words(self, rng: random.Random, k: int, skip: int = 0) -> list[str]:
        """k words drawn by Zipf weight, leaving out the `skip` most frequent."""
        words, cum, rand = self.words, self.word_cum, rng.random
        low = cum[skip - 1] if skip else 0.0
        span = cum[-1] - low
        hi = len(cum) - 1
        return [words[bisect.bisect(cum, low + rand() * span, 0, hi)] for _ in range(k)]

    def _sentence(self, rng: random.Random) -> str:
        words = self.draw_words(rng, rng.randint(8, 24))
        if rng.random() < 0.08:
            words.insert(rng.randrange(len(words)), rng.choice(MATH_SNIPPETS).format())
        if rng.random() < 0.35:
            text = rng.choice(OPENERS) + " " + " ".join(words)
        else:
            text = " ".join(words)
            text = text[0].upper() + text[1:]
        if len(text) > MAX_SENTENCE:
            text = text[:MAX_SENTENCE].rsplit(" ", 1)[0]
        return text + "."


@lru_cache(maxsize=4)
def _tables(seed: int) -> _Tables:
    return _Tables(seed)


def vocabulary(seed: int = 0) -> list[tuple[str, float]]:
    """The ranked vocabulary (most frequent first) with each word's relative weight."""
    t = _tables(seed)
    return list(zip(t.words, t.word_weights, strict=True))


def author_name(index: int) -> tuple[str, str]:
    """(last, first) of author number `index`. Distinct indexes below
    len(FIRST_NAMES) * len(LAST_NAMES) * 27 give distinct (first, last) pairs, except that
    about one in seven authors goes by an initial ("W. Wang"), which, as on arXiv, can make
    two people share a name."""
    nf, nl = len(FIRST_NAMES), len(LAST_NAMES)
    f = index % nf
    q = index // nf
    last = LAST_NAMES[(q + f * 37) % nl]
    first = FIRST_NAMES[f]
    middle = q // nl
    if middle:
        first = f"{first} {chr(65 + (middle - 1) % 26)}."
    elif index % 7 == 3:
        first = first[0] + "."
    return last, first


def _rfc2822(ts: int) -> str:
    d = datetime.fromtimestamp(ts, UTC)
    return (
        f"{WEEKDAYS[d.weekday()]}, {d.day} {MONTHS[d.month - 1]} {d.year} "
        f"{d.hour:02d}:{d.minute:02d}:{d.second:02d} GMT"
    )


def _month_start(month_index: int) -> tuple[int, int, int]:
    """(yy, mm, unix time of the 1st) of the id month `month_index` months after the start."""
    m = START_MONTH - 1 + month_index
    year, month = START_YEAR + m // 12, m % 12 + 1
    return year % 100, month, int(datetime(year, month, 1, tzinfo=UTC).timestamp())


def generate(
    n: int,
    seed: int = 0,
    *,
    start: int = 0,
    stop: int | None = None,
    people: int | None = None,
) -> Iterator[dict]:
    """Yield the papers of the corpus of `n` papers as arXiv snapshot dicts.

    Deterministic for (n, seed, people). `start`/`stop` select the papers [start, stop) of
    that corpus (each block of BLOCK papers has its own random stream, so a slice costs
    about its own size: shards can be generated in parallel and concatenated).
    `people` is the size of the author pool (default n // 3); with the same `people`, the
    first k papers of a corpus of n are the corpus of k.
    """
    t = _tables(seed)
    bis = bisect.bisect
    exp, log = math.exp, math.log
    pool, npool = t.pool, len(t.pool)
    tape, ntape = t.tape, len(t.tape) - 32
    title_tape, ntitle = t.title_tape, len(t.title_tape) - 32
    cat_names, cat_cum = t.cat_names, t.cat_cum
    cat_total, ncat = cat_cum[-1], len(cat_cum) - 1
    lic_values, lic_cum = t.lic_values, t.lic_cum
    lic_total, nlic = lic_cum[-1], len(lic_cum) - 1
    ncomment, nvenue = len(COMMENT_PARTS), len(VENUES)
    njournal, ndoi = len(JOURNALS), len(DOI_PREFIXES)
    # Author pool: rank r is drawn with probability proportional to 1 / (r + c).
    people = max(10, n // 3 if people is None else people)
    c = 200.0 if people > 2000 else max(2.0, people / 10)
    log_span = log((people + c) / c)
    # An odd multiplier modulo a power of two is a bijection: it scatters ranks over the
    # name space (prolific authors are not all "Wei Wang") and keeps people distinct.
    space = 1 << max(4, (people - 1).bit_length())
    scatter = 0x9E3779B1
    names_cache: dict[int, tuple[str, str, str]] = {}
    month_cache: dict[int, tuple[int, int, int]] = {}

    stop = n if stop is None else min(stop, n)
    start = max(0, start)
    for block in range(start // BLOCK, -(-stop // BLOCK) if start < stop else 0):
        rand = random.Random(f"paperfeed-corpus:{seed}:{block}").random
        for i in range(block * BLOCK, min(stop, (block + 1) * BLOCK)):
            month_index, number = divmod(i, PER_MONTH)
            month = month_cache.get(month_index)
            if month is None:
                month = month_cache[month_index] = _month_start(month_index)
            yy, mm, base = month
            year = 2000 + yy

            # categories: the primary, then 0-3 cross-lists
            cats = [cat_names[bis(cat_cum, rand() * cat_total, 0, ncat)]]
            r = rand()
            extra = 0 if r < 0.45 else (1 if r < 0.8 else 2 + int(rand() * 2))
            for _ in range(extra):
                cat = cat_names[bis(cat_cum, rand() * cat_total, 0, ncat)]
                if cat not in cats:
                    cats.append(cat)

            # authors: mostly 1-15 (mean about 4), rarely a large collaboration
            if rand() < 0.002:
                k = 30 + int(rand() * 220)
            else:
                k = 1 + int(-log(1.0 - rand()) * 3.3)
                if k > 15:
                    k = 15
            parsed, names, seen = [], [], set()
            for _ in range(k):
                rank = int(c * exp(rand() * log_span) - c)
                if rank >= people:
                    rank = people - 1
                if rank in seen:
                    continue
                seen.add(rank)
                entry = names_cache.get(rank)
                if entry is None:
                    last, first = author_name((rank * scatter) % space)
                    entry = (last, first, f"{first} {last}")
                    if rank < 4096:
                        names_cache[rank] = entry
                parsed.append([entry[0], entry[1], ""])
                names.append(entry[2])
            authors = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            submitter = names[0] if rand() < 0.7 else names[int(rand() * len(names))]

            # title: 5-14 words, sometimes "ACRONYM: ...", long ones wrapped as in the dump
            o = int(rand() * ntitle)
            tw = title_tape[o : o + 5 + int(rand() * 10)]
            if rand() < 0.25:
                title = "".join([w[0] for w in tw[:4]]).upper() + ": " + " ".join(tw).title()
            else:
                title = " ".join(tw).title()
            if len(title) > 70:
                cut = title.rfind(" ", 0, 70)
                if cut > 0:
                    title = title[:cut] + "\n  " + title[cut + 1 :]

            # abstract: one new sentence (a tape slice) and pooled sentences, 600-1500 characters
            o = int(rand() * ntape)
            fresh = " ".join(tape[o : o + 8 + int(rand() * 12)])
            parts = [fresh[0].upper() + fresh[1:] + "."]
            target = 600 + int(rand() * rand() * 690)
            size = len(parts[0])
            while size < target:
                s = pool[int(rand() * npool)]
                parts.append(s)
                size += len(s) + 1
            if rand() < 0.5:  # the new sentence is not always the first
                parts.append(parts.pop(0))
            abstract = "  " + ("\n" if rand() < 0.3 else " ").join(parts) + "\n"

            # comments (with code or project links), journal-ref, doi, license
            comments = None
            if rand() < 0.72:
                comments = COMMENT_PARTS[int(rand() * ncomment)].format(
                    p=4 + int(rand() * 56), f=1 + int(rand() * 19), t=1 + int(rand() * 8),
                    v=2 + int(rand() * 3), venue=VENUES[int(rand() * nvenue)], year=year,
                )  # fmt: skip
                r = rand()
                if r < 0.30:
                    user = parsed[0][0].lower().replace(" ", "").replace("'", "")
                    if r < 0.22:
                        repo = "-".join(tw[:2]).lower()
                        comments += f". Code: https://github.com/{user}{i % 97}/{repo}"
                    elif r < 0.28:
                        comments += f". Project page: https://{user}{i % 53}.github.io/{tw[0]}/"
                    else:
                        comments += f". Project page: https://www.{tw[0]}-lab.org/{tw[-1]}"
                elif r < 0.305:
                    comments = "This paper has been withdrawn by the author due to an error"
            journal_ref = doi = None
            if rand() < 0.14:
                page = 1 + int(rand() * 9999)
                journal_ref = JOURNALS[int(rand() * njournal)].format(
                    v=1 + int(rand() * 999), y=year, p=page, q=page + 5 + int(rand() * 40),
                    m=f"{1 + int(rand() * 12):02d}",
                    venue=VENUES[int(rand() * nvenue)],
                )  # fmt: skip
            if rand() < 0.2:
                doi = f"{DOI_PREFIXES[int(rand() * ndoi)]}.{1 + int(rand() * 999)}.{number:06d}"
            license_url = lic_values[bis(lic_cum, rand() * lic_total, 0, nlic)]

            # versions: 1-4; v1 within the id month, later ones hours to months after
            r = rand()
            nver = 1 if r < 0.62 else (2 if r < 0.89 else 3 + int(rand() * 2))
            ts = base + int(rand() * 27 * 86400)
            versions = [{"version": "v1", "created": _rfc2822(ts)}]
            for v in range(2, nver + 1):
                ts += 3600 + int(rand() * 120 * 86400)
                versions.append({"version": f"v{v}", "created": _rfc2822(ts)})
            updated = datetime.fromtimestamp(ts + int(rand() * 4) * 86400, UTC)

            if i < start:  # in the first block, before the requested range
                continue
            yield {
                "id": f"{yy:02d}{mm:02d}.{number + 1:05d}",
                "submitter": submitter,
                "authors": authors,
                "title": title,
                "comments": comments,
                "journal-ref": journal_ref,
                "doi": doi,
                "report-no": None,
                "categories": " ".join(cats),
                "license": license_url,
                "abstract": abstract,
                "versions": versions,
                "update_date": updated.date().isoformat(),
                "authors_parsed": parsed,
            }


def iter_lines(
    n: int, seed: int = 0, *, start: int = 0, stop: int | None = None, people: int | None = None
) -> Iterator[str]:
    """The papers of `generate(...)` as compact JSON lines, each ending in a newline."""
    encode = json.JSONEncoder(
        ensure_ascii=False, check_circular=False, separators=(",", ":")
    ).encode
    for paper in generate(n, seed, start=start, stop=stop, people=people):
        yield encode(paper) + "\n"


def _text(n: int, seed: int, start: int, stop: int, people: int | None) -> str:
    return "".join(iter_lines(n, seed, start=start, stop=stop, people=people))


def write(
    path: str | os.PathLike,
    n: int,
    seed: int = 0,
    *,
    people: int | None = None,
    workers: int | None = None,
) -> Path:
    """Write the corpus of `n` papers to `path` (atomically: a temp file renamed into place).

    With workers > 1, processes generate shards of CHUNK papers that are written in order,
    at most 2 * workers shards in flight; the file is the same for any number of workers.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    if workers is None:  # leave a core for the writing parent (and for anything else)
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        workers = max(1, min(4, cpus - 1))
    shards = [(lo, min(n, lo + CHUNK)) for lo in range(0, n, CHUNK)]
    _tables(seed)  # built once here, inherited by forked workers
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            if workers <= 1 or len(shards) <= 1:
                for lo, hi in shards:
                    out.write(_text(n, seed, lo, hi, people))
            else:
                context = multiprocessing.get_context("fork")
                with ProcessPoolExecutor(workers, mp_context=context) as executor:
                    pending: deque = deque()
                    for lo, hi in shards:
                        pending.append(executor.submit(_text, n, seed, lo, hi, people))
                        if len(pending) >= 2 * workers:
                            out.write(pending.popleft().result())
                    while pending:
                        out.write(pending.popleft().result())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, required=True, help="number of papers")
    parser.add_argument("--out", required=True, help="output path (JSON lines)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--people", type=int, help="author pool size (default papers / 3)")
    parser.add_argument(
        "--workers", type=int, help="generator processes (default: CPUs - 1, 1 to 4)"
    )
    args = parser.parse_args(argv)
    if args.papers < 0:
        parser.error("--papers must be >= 0")
    started = time.perf_counter()
    path = write(args.out, args.papers, args.seed, people=args.people, workers=args.workers)
    elapsed = time.perf_counter() - started
    size = path.stat().st_size
    print(
        f"wrote {args.papers:,} papers to {path} ({size / 1e6:.1f} MB) in {elapsed:.2f}s "
        f"({args.papers / max(elapsed, 1e-9):,.0f} papers/s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
