"""The bot's own words in the member's language (prompts carry their own translations)."""

from __future__ import annotations

from bot.domain.prompts import pick

_TEXTS: dict[str, dict[str, str]] = {
    "prompt_title": {
        "en": "Check-in: {campaign}",
        "fr": "Point d'étape : {campaign}",
        "es": "Seguimiento: {campaign}",
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
    "file_not_kept": {
        "en": "Only the words of your message are kept: the file you attached is not stored.",
        "fr": "Seuls les mots de votre message sont conservés : le fichier joint n'est pas "
        "enregistré.",
        "es": "Solo se guardan las palabras de su mensaje: el archivo adjunto no se almacena.",
    },
    "file_without_words": {
        "en": "Thank you, but I can only keep typed answers, so the file you sent is not "
        "stored. Please type your answer as a message.",
        "fr": "Merci, mais je ne garde que les réponses écrites : le fichier envoyé n'est pas "
        "enregistré. Merci d'écrire votre réponse dans un message.",
        "es": "Gracias, pero solo guardo respuestas escritas, así que el archivo enviado no se "
        "almacena. Escriba su respuesta en un mensaje, por favor.",
    },
    "updated": {
        "en": "Updated your answer for {period} (it was “{before}”). Now:",
        "fr": "Réponse mise à jour pour {period} (c'était « {before} »). Désormais :",
        "es": "Respuesta actualizada para {period} (era «{before}»). Ahora:",
    },
    # Words adapters put around a prompt (buttons, hints, the answer form).
    "ui_answer": {"en": "Answer", "fr": "Répondre", "es": "Responder"},
    "ui_skip": {"en": "Skip this time", "fr": "Passer cette fois", "es": "Omitir esta vez"},
    "ui_pick_one": {"en": "Pick one", "fr": "Choisissez", "es": "Elija una opción"},
    "ui_hint_buttons": {
        "en": "Reply in this thread or use a button.",
        "fr": "Répondez dans ce fil ou utilisez un bouton.",
        "es": "Responda en este hilo o use un botón.",
    },
    "ui_hint_choices": {
        "en": "Reply in this thread, pick an option or use a button.",
        "fr": "Répondez dans ce fil, choisissez une option ou utilisez un bouton.",
        "es": "Responda en este hilo, elija una opción o use un botón.",
    },
    "ui_hint_thread": {
        "en": "Reply in this thread.",
        "fr": "Répondez dans ce fil.",
        "es": "Responda en este hilo.",
    },
    "ui_hint_react": {
        "en": "Reply in this thread, or react with the number of your choice.",
        "fr": "Répondez dans ce fil, ou réagissez avec le numéro de votre choix.",
        "es": "Responda en este hilo, o reaccione con el número de su elección.",
    },
    "ui_answered": {"en": "Answer received", "fr": "Réponse reçue", "es": "Respuesta recibida"},
    "ui_your_answer": {"en": "Your answer", "fr": "Votre réponse", "es": "Su respuesta"},
    "ui_number_hint": {
        "en": "A number, like 12",
        "fr": "Un nombre, par exemple 12",
        "es": "Un número, por ejemplo 12",
    },
    "ui_form_title": {"en": "Check-in", "fr": "Point d'étape", "es": "Seguimiento"},
    "ui_send": {"en": "Send", "fr": "Envoyer", "es": "Enviar"},
    "ui_cancel": {"en": "Cancel", "fr": "Annuler", "es": "Cancelar"},
}


def t(key: str, locale: str, **values: str) -> str:
    return pick(_TEXTS[key], locale).format(**values)
