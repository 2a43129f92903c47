"""The bot's own words in the member's language (prompts carry their own translations)."""

from __future__ import annotations

from bot.domain.prompts import pick

_TEXTS: dict[str, dict[str, str]] = {
    "prompt_title": {
        "en": "Check-in: {campaign}",
        "fr": "Point d'étape : {campaign}",
        "es": "Seguimiento: {campaign}",
    },
    "how_to_answer": {
        "en": "Reply in this thread (or with /checkin <answer>).",
        "fr": "Répondez dans ce fil (ou avec /checkin <réponse>).",
        "es": "Responda en este hilo (o con /checkin <respuesta>).",
    },
    "reminder": {
        "en": "Reminder: we have not heard from you yet.",
        "fr": "Petit rappel : nous n'avons pas encore votre réponse.",
        "es": "Recordatorio: aún no tenemos su respuesta.",
    },
    "recorded": {
        "en": "Thank you! Recorded for {period}:",
        "fr": "Merci ! Enregistré pour {period} :",
        "es": "¡Gracias! Registrado para {period}:",
    },
    "share_action": {
        "en": "Share with the alliance",
        "fr": "Partager avec l'alliance",
        "es": "Compartir con la alianza",
    },
    "updated": {
        "en": "Updated your answer for {period} (it was “{before}”). Now:",
        "fr": "Réponse mise à jour pour {period} (c'était « {before} »). Désormais :",
        "es": "Respuesta actualizada para {period} (era «{before}»). Ahora:",
    },
}


def t(key: str, locale: str, **values: str) -> str:
    return pick(_TEXTS[key], locale).format(**values)
