"""The processing register the controller files with the CNDP (`bab privacy register`), from the privacy facts.

In French: it is an administrative document for the CNDP, whose declaration forms and deliberations are in
French, and for the operator who files it; the citizen reads the same facts in their own language in the notice.
"""

from __future__ import annotations

from bot.domain.privacy_facts import (
    CATEGORIES,
    PEOPLE,
    PURPOSES,
    RECIPIENTS,
    RETENTION_LINES,
    SECURITY,
    PrivacyFacts,
)

CHANNEL_NAMES = {"web": "chat web (hébergé avec Bab)", "telegram": "Telegram (Telegram Messenger)",
                 "whatsapp": "WhatsApp (WhatsApp Cloud API de Meta)"}


def jours(days: int) -> str:
    """A number of days in French ("365 jours")."""
    return f"{days} jour" if days == 1 else f"{days} jours"


def register(facts: PrivacyFacts) -> str:
    """The register as plain text (Markdown headings), every retention period and transfer read from `facts`."""
    lines = [
        "# Registre du traitement « Bab » (loi 09-08)",
        "",
        f"Responsable du traitement : {facts.controller_name}",
        f"Récépissé de déclaration CNDP : {facts.receipt}",
        ("Base : mission d'intérêt public des collectivités (loi 31-13, décret 2-17-265) et information du citoyen "
         "à la collecte."),
        "",
        "## Finalités",
        *(f"- {purpose.register}" for purpose in PURPOSES),
        "",
        "## Catégories de personnes concernées",
        *(f"- {person}" for person in PEOPLE),
        "",
        "## Catégories de données",
        *(f"- {category.fact.register}" for category in CATEGORIES),
    ]
    lines += ["", "## Destinataires", *(f"- {recipient.register}" for recipient in RECIPIENTS), "",
              "## Durées de conservation"]
    for kind, fact in RETENTION_LINES.items():
        days = facts.days(kind)
        lines.append("- " + (fact.register.format(period=jours(days)) if days is not None else fact.register))
    lines += [
        f"- messages en file d'envoi : supprimés {jours(facts.retention.outbox_days)} après leur envoi (ou leur échec)",
        "- compte de messagerie : jusqu'à ce que la personne demande l'effacement (/forget)",
        f"- journal d'audit des consultations et des actions refusées (identifiants seulement) : supprimé "
        f"{jours(facts.retention.audit_days)} après l'action",
        "- purge automatique quotidienne ; `bab privacy purge --dry-run` en donne le détail sans rien effacer",
        "",
        "## Mesures de sécurité",
        *(f"- {measure.register}" for measure in SECURITY),
        "- chiffrement des échanges (HTTPS, cookies sécurisés)" if facts.https
        else "- chiffrement des échanges : à assurer par le serveur HTTPS frontal (BAB_SECURE_COOKIES=1)",
        "",
        "## Transferts hors du Maroc",
        ("- aucun : base de données et fichiers hébergés au Maroc" if not facts.transfer_abroad
         else f"- hébergement hors du Maroc ({facts.hosting_country}) : transfert soumis à l'autorisation préalable "
              "de la CNDP"),
    ]
    for channel in facts.channels:
        if channel != "web":
            lines.append(f"- messages échangés par {CHANNEL_NAMES[channel]} : ils transitent par ce service, choisi "
                         "par le citoyen")
    lines += ["", "## Canaux de collecte", *(f"- {CHANNEL_NAMES.get(channel, channel)}" for channel in facts.channels),
              "", "## Droits des personnes",
              ("- information, accès (/mydata), rectification, opposition et effacement (/forget) dans le chat, sur "
               "chaque canal ; réclamation auprès de la CNDP (www.cndp.ma)"), ""]
    return "\n".join(lines)
