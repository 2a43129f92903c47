"""How names are compared, and the words that never make one, in English, French and
Spanish (the answers' languages)."""

from __future__ import annotations

import re
import unicodedata

_EXTRA_FOLDS = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d"})


def fold(word: str) -> str:
    """``word`` in lower case without accents: how words are compared."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.casefold().translate(_EXTRA_FOLDS))
    return "".join(c for c in decomposed if not unicodedata.combining(c)) or word


WORD = re.compile(r"[^\W_](?:[^\W_]|[\u0300-\u036f])*")


def normalise(name: str) -> str:
    """A name's words, folded and joined by one space: "Médiathèque  de Lyon" and
    "mediatheque de LYON" are the same name."""
    return " ".join(fold(m.group()) for m in WORD.finditer(name))


def _words(text: str) -> frozenset[str]:
    return frozenset(fold(w) for w in text.split())


ARTICLES = _words("the a an le la les l un une el los las lo una unos unas")
CONNECTORS = _words("de du des d la le les l of the for pour del el los las")
CUES = _words("with and between avec et entre con y")
CALENDAR = _words(
    "monday tuesday wednesday thursday friday saturday sunday january february march april "
    "may june july august september october november december lundi mardi mercredi jeudi "
    "vendredi samedi dimanche janvier février mars avril mai juin juillet août septembre "
    "octobre novembre décembre lunes martes miércoles jueves viernes sábado domingo enero "
    "febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre "
    "diciembre"
)
COMMON = (
    ARTICLES
    | CUES
    | _words(
        "i we you he she it they me us them my our your his her its their this that these "
        "those there here what who whom when where why how which or but so if then also too "
        "yes no not maybe perhaps today yesterday tomorrow tonight thanks thank hello hi hey "
        "dear please all some many most one two three last next every each at in on of to "
        "for from by about as after before during since until again just still very much "
        "more less lot lots would could should will can may might must do did does have has "
        "had is are was were be been being met meet our ours mr mrs ms dr "
        "je j nous vous il ils elle elles on moi te toi se lui leur leurs mon ma mes ton ta "
        "tes son sa ses notre nos votre vos ce cet cette ces ceci cela ça qui que qu quoi "
        "quand où ou comment pourquoi mais donc ni car si alors aussi oui non pas peut hier "
        "aujourd hui demain merci bonjour salut cher chère tous tout toute toutes quelques "
        "plusieurs chaque dans sur sous pour par sans chez vers depuis pendant avant après "
        "encore déjà très plus moins beaucoup du de d au aux est sont était avons avez ont "
        "yo nosotros nosotras tú usted ustedes él ella ellos ellas nos mi mis tu su sus "
        "nuestro nuestra nuestros nuestras este esta estos estas ese esa eso aquí allí qué "
        "quién cuándo dónde cómo porque pero sí también hoy ayer mañana gracias hola todos "
        "todas algunos algunas cada en sin para desde hasta durante antes después muy más "
        "menos mucho del al hemos hay es son fue "
        "none nothing nobody unsure unknown later soon done ok okay sure great good perfect "
        "super agreed absolutely excellent nice cool rien personne aucun aucune bientôt "
        "parfait génial bien bravo accord nada nadie ninguno ninguna pronto claro vale "
        "perfecto genial bueno"
    )
)
"""Words that never start a name: pronouns, articles, greetings, little adverbs, the words
that make a whole answer ("Nothing.", "Great!")."""
