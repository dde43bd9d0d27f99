"""Every word the displays show, per language: one table for the web, the sign and the desks.

The core speaks in codes (agent states, feed states, why a press was refused); the words
for them are here, and only here. Each display takes its words from this table and sets
them as it must: the LED sign in capitals, the desk OLED short. The page gets its
language's table inlined as JSON, so the browser has the same words without a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from appliance.core.desk import DeskMessage

Language = Literal["da", "en"]
DEFAULT_LANGUAGE: Language = "da"

_DA: dict[str, str] = {
    # Agent states: the wallboard's list of agents, the desk OLED (upper-cased there).
    "state_available": "Ledig",
    "state_ringing": "Ringer",
    "state_busy": "Samtale",
    "state_wrap_up": "Efterbehandling",
    "state_wrap_up_short": "Efterbeh.",
    "state_paused": "Pause",
    "state_logged_out": "Logget ud",
    # A queue's figures.
    "waiting": "Venter",
    "longest": "Længste ventetid",
    "count_available": "Ledige",
    "count_busy": "Samtale",
    "count_paused": "Pause",
    "answered": "Besvaret",
    "abandoned": "Opgivet",
    "offered": "Kald",
    "sl": "Serviceniveau",
    "asa": "Gns. svartid",
    "peak": "Flest ventende",
    # Whether the numbers are live.
    # /fleet and /admin, for technicians and supervisors.
    "fleet_title": "Alle apparater",
    "fleet_site": "Center",
    "fleet_appliance": "Apparat",
    "fleet_state": "Tilstand",
    "fleet_since": "Siden",
    "fleet_version": "Version",
    "fleet_uptime": "Oppetid",
    "fleet_feed": "Data",
    "fleet_broker": "Broker",
    "fleet_problems": "Problemer",
    "fleet_rejected": "Afviste",
    "fleet_last_message": "Seneste data",
    "fleet_offline": "Offline",
    "fleet_fault": "Fejl",
    "fleet_warning": "Advarsel",
    "fleet_ok": "OK",
    "fleet_none": "Ingen apparater har meldt sig endnu.",
    "fleet_not_updated": "Ikke opdateret siden",
    "admin_title": "Supervisor",
    "admin_token": "Admin-nøgle",
    "admin_login": "Log ind",
    "admin_logout": "Log ud",
    "admin_wrong_token": "Forkert nøgle.",
    "admin_message": "Besked på tickeren",
    "admin_target": "Til",
    "admin_all_sites": "alle centre",
    "admin_text": "Tekst",
    "admin_level": "Type",
    "admin_level_info": "Info",
    "admin_level_warning": "Advarsel",
    "admin_until": "Vis indtil",
    "admin_post": "Vis beskeden",
    "admin_clear": "Fjern beskeden",
    "admin_posted": "Beskeden er sendt.",
    "admin_cleared": "Beskeden er fjernet.",
    "admin_desks": "Skriveborde",
    "admin_rota": "Vagtplan",
    "admin_rota_file": "Fil (CSV eller iCalendar)",
    "admin_rota_publish": "Udgiv vagtplanen",
    "admin_rota_published": "Udgivet:",
    "admin_failed": "Det lykkedes ikke:",
    "clock_unsure": "Uret er ikke indstillet endnu",
    "no_data": "Ingen data",
    "feed_live": "LIVE",
    "feed_stale": "FORÆLDET",
    "feed_offline": "OFFLINE",
    "feed_disconnected": "INGEN FORBINDELSE",
    "feed_lost": "AFBRUDT",
    "phone_system_offline": "Telefonsystem offline",
    "no_connection": "Ingen forbindelse",
    "banner_stale": "Data er forældede – tallene er ikke aktuelle",
    "banner_offline": "Telefonsystemet er offline – ingen aktuelle tal",
    "banner_disconnected": "Ingen forbindelse til telefonsystemets server – ingen aktuelle tal",
    "banner_lost": "Forbindelsen til wallboardet er afbrudt – prøver igen …",
    "no_queues": "Venter på data fra telefonsystemet …",
    # Opening hours.
    "closed": "Lukket",
    "opens": "åbner",
    "closed_until": "Lukket – åbner {when}",
    "at": "kl.",
    # The wallboard's frame and the statistics page.
    "subtitle": "Digital hotline",
    "agents_title": "På vagt",
    "no_agents": "Ingen på vagt",
    "stats_subtitle": "Statistik for de seneste 30 dage",
    "day": "Dag",
    "queue": "Kø",
    "no_statistics": "Ingen statistik endnu.",
    # The desk: its screen, and what a press came to.
    "desk_waiting": "venter",
    "desk_no_agent": "Ingen agent",
    "desk_pending": "Venter på svar …",
    "press_no_agent": "Ingen agent logget ind",
    "press_last_available": "Sidste ledige i køen – hold knappen inde for at gå på pause",
    "press_expired": "Intet svar fra telefonsystemet",
    "press_not_sent": "Ingen forbindelse – ikke sendt",
    "press_refused_by_broker": "Afvist af serveren",
    "press_refused": "Afvist af telefonsystemet",
    # /stats: charts of days, weeks and months, and the give-and-take ledger.
    "stats_calls": "Opkald",
    "stats_sl": "Serviceniveau",
    "stats_ledger": "Regnskab: hvem ringer, og hvem svarer",
    "stats_from": "Fra",
    "stats_to": "Til",
    "stats_days": "Dage",
    "stats_weeks": "Uger",
    "stats_months": "Måneder",
    "stats_by_queue": "Pr. kø",
    "stats_by_municipality": "Pr. kommune",
    "stats_others": "Øvrige",
    "ledger_municipality": "Kommune",
    "ledger_offered": "Opkald fra borgere",
    "ledger_answered": "Heraf besvaret",
    "ledger_abandoned": "Opgivet",
    "ledger_staff_answered": "Besvaret af egne medarbejdere",
    "ledger_staff_hours": "Timer på vagt",
    "ledger_balance": "Giver (+) / får (−)",
    "ledger_total": "I alt",
    # Municipalities and the service level's formula (a footnote under the queues).
    "municipality_unknown": "Ukendt",
    "sl_formula_answered": "Serviceniveau: besvaret inden {s} s, af de besvarede opkald",
    "sl_formula_offered": (
        "Serviceniveau: besvaret inden {s} s, af alle opkald (korte opgivne fraregnet)"
    ),
    "sl_formula_offered_excluding_abandoned_within": (
        "Serviceniveau: besvaret inden {s} s, af alle opkald undtagen dem, der opgav inden {s} s"
    ),
    "sl_formula_offered_counting_abandoned_within": (
        "Serviceniveau: besvaret eller opgivet inden {s} s, af alle opkald"
    ),
    # Staffing: agents needed, the closing forecast, the rota, the call for help.
    "needed": "Behov nu",
    "forecast": "Ved lukning {closes}: ca. {n} venter – sidste svar ca. {last}",
    "forecast_none": "Ved lukning {closes}: ingen venter",
    "rota_title": "Vagtplan",
    "rota_on": "logget ind",
    "rota_missing": "Mangler",
    "rota_expected": "Kommer",
    "rota_standby": "Standby",
    "rota_unscheduled": "Ikke på vagtplanen",
    "help_wanted": "Hotlinen mangler {n} – tryk for at hjælpe",
    # Days, Monday first (as date.weekday()).
    "weekday_0": "mandag",
    "weekday_1": "tirsdag",
    "weekday_2": "onsdag",
    "weekday_3": "torsdag",
    "weekday_4": "fredag",
    "weekday_5": "lørdag",
    "weekday_6": "søndag",
    "day_short_0": "man",
    "day_short_1": "tir",
    "day_short_2": "ons",
    "day_short_3": "tor",
    "day_short_4": "fre",
    "day_short_5": "lør",
    "day_short_6": "søn",
}

_EN: dict[str, str] = {
    "state_available": "Available",
    "state_ringing": "Ringing",
    "state_busy": "On call",
    "state_wrap_up": "Wrap-up",
    "state_wrap_up_short": "Wrap-up",
    "state_paused": "Paused",
    "state_logged_out": "Logged out",
    "waiting": "Waiting",
    "longest": "Longest wait",
    "count_available": "Available",
    "count_busy": "On call",
    "count_paused": "Paused",
    "answered": "Answered",
    "abandoned": "Abandoned",
    "offered": "Calls",
    "sl": "Service level",
    "asa": "Avg. answer",
    "peak": "Most waiting",
    "stats_calls": "Calls",
    "stats_sl": "Service level",
    "stats_ledger": "The ledger: who calls, and who answers",
    "stats_from": "From",
    "stats_to": "To",
    "stats_days": "Days",
    "stats_weeks": "Weeks",
    "stats_months": "Months",
    "stats_by_queue": "By queue",
    "stats_by_municipality": "By municipality",
    "stats_others": "Others",
    "ledger_municipality": "Municipality",
    "ledger_offered": "Calls from citizens",
    "ledger_answered": "Of them answered",
    "ledger_abandoned": "Abandoned",
    "ledger_staff_answered": "Answered by own staff",
    "ledger_staff_hours": "Hours on duty",
    "ledger_balance": "Gives (+) / takes (−)",
    "ledger_total": "Total",
    "municipality_unknown": "Unknown",
    "sl_formula_answered": "Service level: answered within {s} s, of the calls answered",
    "sl_formula_offered": (
        "Service level: answered within {s} s, of all calls (short abandons left out)"
    ),
    "sl_formula_offered_excluding_abandoned_within": (
        "Service level: answered within {s} s, of all calls but those abandoned within {s} s"
    ),
    "sl_formula_offered_counting_abandoned_within": (
        "Service level: answered or abandoned within {s} s, of all calls"
    ),
    "needed": "Needed now",
    "forecast": "At closing {closes}: about {n} waiting – last answered about {last}",
    "forecast_none": "At closing {closes}: nobody waiting",
    "rota_title": "Rota",
    "rota_on": "logged in",
    "rota_missing": "Missing",
    "rota_expected": "Expected",
    "rota_standby": "Standby",
    "rota_unscheduled": "Not on the rota",
    "help_wanted": "The hotline needs {n} – press to help",
    # /fleet and /admin, for technicians and supervisors.
    "fleet_title": "Every appliance",
    "fleet_site": "Centre",
    "fleet_appliance": "Appliance",
    "fleet_state": "State",
    "fleet_since": "Since",
    "fleet_version": "Version",
    "fleet_uptime": "Uptime",
    "fleet_feed": "Feed",
    "fleet_broker": "Broker",
    "fleet_problems": "Problems",
    "fleet_rejected": "Rejected",
    "fleet_last_message": "Last message",
    "fleet_offline": "Offline",
    "fleet_fault": "Fault",
    "fleet_warning": "Warning",
    "fleet_ok": "OK",
    "fleet_none": "No appliance has reported yet.",
    "fleet_not_updated": "Not updated since",
    "admin_title": "Supervisor",
    "admin_token": "Admin token",
    "admin_login": "Log in",
    "admin_logout": "Log out",
    "admin_wrong_token": "Wrong token.",
    "admin_message": "Ticker message",
    "admin_target": "To",
    "admin_all_sites": "every centre",
    "admin_text": "Text",
    "admin_level": "Kind",
    "admin_level_info": "Info",
    "admin_level_warning": "Warning",
    "admin_until": "Show until",
    "admin_post": "Show the message",
    "admin_clear": "Remove the message",
    "admin_posted": "The message is sent.",
    "admin_cleared": "The message is removed.",
    "admin_desks": "Desks",
    "admin_rota": "Rota",
    "admin_rota_file": "File (CSV or iCalendar)",
    "admin_rota_publish": "Publish the rota",
    "admin_rota_published": "Published:",
    "admin_failed": "That did not work:",
    "clock_unsure": "The clock is not set yet",
    "no_data": "No data",
    "feed_live": "LIVE",
    "feed_stale": "STALE",
    "feed_offline": "OFFLINE",
    "feed_disconnected": "NO CONNECTION",
    "feed_lost": "LOST",
    "phone_system_offline": "Phone system offline",
    "no_connection": "No connection",
    "banner_stale": "Data is stale – the numbers are not current",
    "banner_offline": "The phone system is offline – no live numbers",
    "banner_disconnected": "No connection to the phone system's server – no live numbers",
    "banner_lost": "Lost the connection to the wallboard – retrying …",
    "no_queues": "Waiting for data from the phone system …",
    "closed": "Closed",
    "opens": "opens",
    "closed_until": "Closed – opens {when}",
    "at": "at",
    "subtitle": "Digital hotline",
    "agents_title": "On duty",
    "no_agents": "Nobody on duty",
    "stats_subtitle": "Statistics for the last 30 days",
    "day": "Day",
    "queue": "Queue",
    "no_statistics": "No statistics yet.",
    "desk_waiting": "waiting",
    "desk_no_agent": "No agent",
    "desk_pending": "Waiting for answer …",
    "press_no_agent": "No agent logged in",
    "press_last_available": "Last one available in the queue – hold the button to pause",
    "press_expired": "No answer from the phone system",
    "press_not_sent": "No connection – not sent",
    "press_refused_by_broker": "Refused by the server",
    "press_refused": "Refused by the phone system",
    "weekday_0": "Monday",
    "weekday_1": "Tuesday",
    "weekday_2": "Wednesday",
    "weekday_3": "Thursday",
    "weekday_4": "Friday",
    "weekday_5": "Saturday",
    "weekday_6": "Sunday",
    "day_short_0": "Mon",
    "day_short_1": "Tue",
    "day_short_2": "Wed",
    "day_short_3": "Thu",
    "day_short_4": "Fri",
    "day_short_5": "Sat",
    "day_short_6": "Sun",
}

WORDS: Mapping[Language, Mapping[str, str]] = {"da": _DA, "en": _EN}


def words(language: str) -> Mapping[str, str]:
    """The table for `language`; Danish for anything unknown."""
    return WORDS.get(language, WORDS[DEFAULT_LANGUAGE])  # type: ignore[call-overload, no-any-return]


def state_word(language: str, state: str, *, short: bool = False) -> str:
    table = words(language)
    if short and f"state_{state}_short" in table:
        return table[f"state_{state}_short"]
    return table.get(f"state_{state}", state)


def weekday(language: str, index: int, *, short: bool = False) -> str:
    """The name of a day, Monday = 0 (as `date.weekday()`)."""
    return words(language)[f"{'day_short' if short else 'weekday'}_{index % 7}"]


def press_text(message: DeskMessage, language: str) -> str:
    """What a desk says about a press (why it was refused, how it ended)."""
    table = words(language)
    if message.code == "refused" and message.detail:
        return message.detail  # the phone system's own words
    text = table[f"press_{message.code}"]
    return f"{text} ({message.detail})" if message.detail else text


def help_text(lacking: int, language: str) -> str:
    """A standby desk's call: "Hotlinen mangler 2 – tryk for at hjælpe"."""
    return words(language)["help_wanted"].format(n=lacking)
