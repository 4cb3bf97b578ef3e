"""Person and company names by language, each with an ASCII slug for email addresses and domains.

Names include accents, apostrophes and non-Latin scripts on purpose: templates must escape and
render them correctly.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pyarrow as pa


def _slug(name: str) -> str:
    ascii_only = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(char for char in ascii_only.lower() if char.isalnum())


def _latin(words: str) -> tuple[tuple[str, str], ...]:
    return tuple((word, _slug(word)) for word in words.split())


def _romanised(pairs: str) -> tuple[tuple[str, str], ...]:
    """``display:slug`` pairs for scripts a slug cannot be derived from."""
    return tuple((display, slug) for display, slug in (pair.split(":") for pair in pairs.split()))


# Language group -> (first names, last names).
_PEOPLE = {
    "en": (
        _latin(
            "James Mary Olivia Liam Emma Noah Ava Ethan Sophia Mason Isabella Lucas Mia Logan Amelia Aiden "
            "Harper Jackson Evelyn Chloé Zoë Siobhan Niamh Declan Priya Kwame Aaliyah Jamal Mei Connor Grace"
        ),
        _latin(
            "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin "
            "Jackson Thompson White Harris Clark Lewis Walker Hall Young King Wright O'Brien O'Neill "
            "McDonald Nguyen Patel Kim Okafor Brontë"
        ),
    ),
    "de": (
        _latin(
            "Lukas Leon Finn Jonas Paul Felix Maximilian Jürgen Anna Lea Lena Hannah Sophie Marie Jörg "
            "Björn Käthe Günther Sören Lina Emilia Moritz"
        ),
        _latin(
            "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer "
            "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Krüger Hartmann Lange Weiß"
        ),
    ),
    "fr": (
        _latin(
            "Jean Marie Camille Louis Léa Chloé Hugo Manon Théo Inès Gabriel Zoé Raphaël Éloïse Noémie "
            "François Hélène Amélie Jérôme Gaëlle Benoît Céline"
        ),
        _latin(
            "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefèvre "
            "Michel Garcia Roux Fournier Girard Bonnet Dupont Lambert Fontaine Chevalier Rousseau"
        ),
    ),
    "es": (
        _latin(
            "José María Lucía Hugo Martín Sofía Paula Daniel Pablo Alejandro Valentina Mateo Camila "
            "Jesús Begoña Iñaki Ángel Álvaro Inés Ximena Renata Santiago"
        ),
        _latin(
            "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz "
            "Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez Peña"
        ),
    ),
    "pt": (
        _latin(
            "João Maria Ana Pedro Lucas Gabriel Mariana Júlia Beatriz Rafael Letícia Gustavo Larissa "
            "Thiago Luíza Caio Sebastião Conceição Vitória Otávio"
        ),
        _latin(
            "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Ribeiro Carvalho "
            "Almeida Lopes Araújo Fernandes Conceição Magalhães Gonçalves Assunção"
        ),
    ),
    "nl": (
        _latin("Daan Sem Lucas Levi Emma Julia Mila Tess Sophie Bram Lotte Thijs Fenna Ruben Noor Jesse"),
        _latin(
            "Jansen Visser Smit Bakker Janssen Meijer Mulder Bos Vos Peters Hendriks Dekker Brouwer Dijkstra "
            "Smits Kok Willems"
        ),
    ),
    "ja": (
        _romanised(
            "翔太:shota 陽菜:hina 蓮:ren 結衣:yui 大翔:hiroto 美咲:misaki 健一:kenichi 由美:yumi Haruto:haruto "
            "Yuki:yuki Aoi:aoi Sakura:sakura Kenji:kenji Akiko:akiko Takumi:takumi Naoko:naoko"
        ),
        _romanised(
            "佐藤:sato 鈴木:suzuki 高橋:takahashi 田中:tanaka 伊藤:ito 渡辺:watanabe 山本:yamamoto 中村:nakamura "
            "Kobayashi:kobayashi Kato:kato Yoshida:yoshida Yamada:yamada Sasaki:sasaki Matsumoto:matsumoto"
        ),
    ),
    "hi": (
        _latin(
            "Aarav Vivaan Aditya Vihaan Arjun Sai Reyansh Ananya Diya Aadhya Saanvi Pari Isha Kavya "
            "Rohan Priya Neha Rahul Deepika Sanjay Lakshmi Arun"
        )
        + _romanised("अनीता:anita राहुल:rahul"),
        _latin(
            "Sharma Verma Gupta Singh Kumar Patel Reddy Iyer Nair Rao Mehta Joshi Banerjee Chatterjee "
            "Mukherjee Das Pillai Menon Kapoor Malhotra"
        )
        + _romanised("शर्मा:sharma"),
    ),
}
LANGUAGES = tuple(_PEOPLE)


def language_of(locale: str) -> str:
    """The name group for a BCP 47 locale: ``hi-IN`` and ``en-IN`` use Indian names, ``en-*`` English."""
    language, _, region = locale.partition("-")
    if region == "IN":
        return "hi"
    return language if language in _PEOPLE else "en"


class NamePool:
    """All names of one kind (first or last) for all languages, with per-language offsets into them."""

    def __init__(self, which: int) -> None:
        entries = [_PEOPLE[language][which] for language in LANGUAGES]
        self.sizes = np.array([len(names) for names in entries])
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])
        self.display = pa.array([name for names in entries for name, _ in names])
        self.slug = pa.array([slug for names in entries for _, slug in names])

    def codes(self, language: np.ndarray, position: np.ndarray) -> np.ndarray:
        """Global codes for name ``position`` (any integer, wrapped) within each row's language."""
        return self.offsets[language] + np.asarray(position) % self.sizes[language]


FIRST_NAMES = NamePool(0)
LAST_NAMES = NamePool(1)

# Company names are "<adjective> <noun> <legal suffix>", e.g. "Blue Harbor Labs Inc.".
COMPANY_ADJECTIVES = _latin(
    "Blue Bright North Silver Green Golden Swift Clear Bold Quiet Red Urban Prime Lucky Nimble Cedar "
    "Polar Coral Amber Crimson Little Grand Summit Hidden Sunny Velvet Iron Copper Maple Nordic "
    "Sakura Fjörd Alpen Aurora Café Lumière Château Zürich Mañana São"
)
COMPANY_NOUNS = _latin(
    "Harbor Labs Works Studio Systems Analytics Logistics Foods Health Ventures Media Partners Goods "
    "Robotics Cloud Bakery Dental Fitness Travel Design Energy Capital Learning Outfitters Supply Legal "
    "Farms Brewing Apparel Marine Clinic Tech Atelier Werkstatt Bäckerei Cocina Oficina Fábrica"
)
