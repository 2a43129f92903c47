"""A small multilingual seed vocabulary of the barriers and needs that alliances commonly name.

Why a lexicon at all: TF-IDF compares words, and "funding", "financement" and "financiación"
share none, so plain term vectors never group the same need across languages. Each seed maps
the usual words for one theme, in English, French and Spanish, onto one shared token, so an
answer about money lands near every other answer about money whatever language it is in.

The lists are deliberately modest and general: the kinds of obstacles any partnership of
libraries, NGOs and local agencies meets, written from general knowledge rather than from any
particular set of answers. Words are matched after stemming (see :mod:`bot.insight.themes`),
so one form per word family is usually enough; add a form only when its stem differs. A word
written ``=word`` matches only that form (accents ignored): it is for words whose stem collides
with an everyday word (French "communication" and "communs" share the stem "commun", Spanish
"sala" and "salir" share "sal").
Ambiguous everyday words ("meeting", "work", "team", "training", "hours") are left out on
purpose: they would pull unrelated answers together.
"""

from __future__ import annotations

from dataclasses import dataclass

LOCALES = ("en", "fr", "es")
"""The languages the seed vocabulary, the stop words and the stemmers cover."""


@dataclass(frozen=True)
class ByLocale:
    """One text per supported locale; word lists are space-separated to stay readable."""

    en: str
    fr: str
    es: str

    def get(self, locale: str) -> str:
        """The text for ``locale``, English for a locale the vocabulary does not cover."""
        if locale == "fr":
            return self.fr
        if locale == "es":
            return self.es
        return self.en


@dataclass(frozen=True)
class Seed:
    """A named theme: its label per locale and the words that signal it per locale."""

    key: str
    label: ByLocale
    words: ByLocale


@dataclass(frozen=True)
class Lexicon:
    """Seeds plus filler: words every barrier answer uses ("lack", "besoin", "falta").

    Filler is dropped before weighting because it says that something is missing, never what:
    left in, "lack of money" and "lack of time" look alike.
    """

    seeds: tuple[Seed, ...]
    filler: ByLocale


SEEDS: tuple[Seed, ...] = (
    Seed(
        "funding",
        ByLocale("funding", "financement", "financiación"),
        ByLocale(
            "funding fund funds funder funders funded underfunded grant grants money budget "
            "budgets financial finance finances cost costs expensive donation donations "
            "fundraising sponsorship subsidy income",
            "financement financements financer financeur financeurs subvention subventions "
            "budget budgétaire argent =fonds coût coûts coûteux mécénat dotation",
            "financiación financiamiento financiar financiador financiadores subvención "
            "subvenciones presupuesto dinero =fondos coste costo costes gastos =caro =caros "
            "costoso patrocinio económico económicos",
        ),
    ),
    Seed(
        "capacity",
        ByLocale("staff time and capacity", "temps et moyens humains", "tiempo y personal"),
        ByLocale(
            "staff staffing understaffed time capacity workload =busy overstretched stretched "
            "overworked burnout exhausted",
            "temps personnel salarié salariés =effectif =effectifs surcharge débordé débordés "
            "épuisement disponibilité",
            "tiempo personal plantilla sobrecarga saturado saturada agotamiento disponibilidad",
        ),
    ),
    Seed(
        "data",
        ByLocale("data and measurement", "données et évaluation", "datos y evaluación"),
        ByLocale(
            "data measure measuring measurement impact evaluation evaluate indicator "
            "indicators metrics statistics stats =figures evidence outcomes reporting "
            "monitoring survey",
            "=données =donnée mesure mesurer impact évaluation évaluer indicateur indicateurs "
            "statistiques chiffres bilan enquête résultats",
            "datos =medir medición impacto evaluación evaluar indicador indicadores "
            "estadísticas cifras resultados seguimiento encuesta",
        ),
    ),
    Seed(
        "communication",
        ByLocale(
            "communication and information",
            "communication et information",
            "comunicación e información",
        ),
        ByLocale(
            "communication communicate comms information info informed newsletter email "
            "emails mailing updates news announcements",
            "=communication =communications communiquer information informations info infos "
            "informé informés newsletter mails courriels courriel actualités",
            "=comunicación =comunicaciones comunicar información informar informados boletín "
            "correos correo email novedades noticias difusión",
        ),
    ),
    Seed(
        "access",
        ByLocale(
            "transport, access and venues",
            "transport, accès et locaux",
            "transporte, acceso y locales",
        ),
        ByLocale(
            "transport transportation bus buses travel access accessible accessibility venue "
            "venues room rooms space premises =building =buildings parking wheelchair distance",
            "transport transports bus déplacement déplacements accès accessible accessibilité "
            "salle salles locaux lieu lieux bâtiment parking mobilité distance trajet",
            "transporte autobús desplazamiento desplazamientos acceso accesible accesibilidad "
            "=local =locales =sala =salas espacio espacios edificio aparcamiento movilidad "
            "distancia",
        ),
    ),
    Seed(
        "digital",
        ByLocale(
            "digital equipment and skills",
            "équipement et compétences numériques",
            "equipos y competencias digitales",
        ),
        ByLocale(
            "digital computer computers laptop laptops wifi internet broadband online software "
            "technology tech devices tablets",
            "numérique numériques informatique ordinateur ordinateurs wifi internet logiciel "
            "logiciels tablettes",
            "digital digitales informático informáticos informática ordenador ordenadores "
            "computadora wifi internet software tecnología dispositivos tabletas",
        ),
    ),
    Seed(
        "language",
        ByLocale("language barriers", "barrière de la langue", "barreras idiomáticas"),
        ByLocale(
            "language languages translation translate translator translators interpreter "
            "interpreters interpreting english bilingual multilingual",
            "langue langues traduction traduire traducteur traducteurs interprète interprètes "
            "interprétariat français anglais bilingue allophone allophones",
            "idioma idiomas idiomático idiomática idiomáticas lengua traducción traducir "
            "traductor traductores intérprete intérpretes castellano español inglés bilingüe",
        ),
    ),
    Seed(
        "trust",
        ByLocale(
            "trust, governance and competition",
            "confiance, gouvernance et concurrence",
            "confianza, gobernanza y competencia",
        ),
        ByLocale(
            "trust distrust mistrust governance competition =competing =compete rivalry rivals "
            "decision decisions decide leadership transparency politics egos",
            "confiance méfiance défiance gouvernance concurrence rivalité rivalités décision "
            "décisions décider transparence leadership egos",
            "confianza desconfianza gobernanza competencia rivalidad rivalidades decisión "
            "decisiones decidir transparencia liderazgo protagonismo egos",
        ),
    ),
    Seed(
        "volunteers",
        ByLocale("volunteers", "bénévoles", "voluntariado"),
        ByLocale(
            "volunteer volunteers volunteering",
            "bénévole bénévoles bénévolat volontaire volontaires volontariat",
            "voluntario voluntarios voluntaria voluntarias voluntariado",
        ),
    ),
    Seed(
        "scheduling",
        ByLocale("scheduling and calendars", "calendriers et horaires", "calendarios y horarios"),
        ByLocale(
            "schedule schedules scheduling calendar calendars date dates clash clashes "
            "timetable overlap diary",
            "calendrier calendriers agenda agendas date dates horaire horaires planning "
            "créneau créneaux chevauchement",
            "calendario calendarios agenda agendas fecha fechas horario horarios coincidir "
            "solapamiento",
        ),
    ),
)
"""Common themes of alliance barriers and needs, in the order ties are broken."""

FILLER = ByLocale(
    "lack lacking need needs needed enough hard difficult difficulty problem problems issue "
    "issues barrier barriers better partner partners partnership organisation organisations "
    "organization organizations orgs alliance network",
    "manque manquent besoin besoins difficile difficulté difficultés problème problèmes frein "
    "freins barrière barrières partenaire partenaires partenariat structure structures "
    "association associations alliance réseau",
    "falta faltan necesitamos necesidad necesidades difícil dificultad dificultades problema "
    "problemas barrera barreras socio socios entidad entidades organización organizaciones "
    "asociación asociaciones alianza red",
)

DEFAULT_LEXICON = Lexicon(seeds=SEEDS, filler=FILLER)
"""The lexicon :func:`bot.insight.themes.common_themes` uses unless told otherwise."""

NO_LEXICON = Lexicon(seeds=(), filler=ByLocale("", "", ""))
"""Plain TF-IDF with stop words and stemming only: the baseline the lexicon must beat."""
