"""The console's data layer: plain functions and dataclasses over the store and
the policy set, no Textual, so each is testable and runs in a thread worker."""
