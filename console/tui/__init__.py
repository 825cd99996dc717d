"""The full-screen console: a Textual app over the incident store and the policy set.

Layout (thin app, fat screens, dumb widgets): `app` holds modes, global keys,
theme and the services; `screens/` own their keys, data wiring and styles;
`widgets/` take plain dataclasses and post messages; `services/` are the only
modules that talk to the store or the policy set, and import no Textual.
"""
