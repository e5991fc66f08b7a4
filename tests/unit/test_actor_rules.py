"""Actors (domain/actors.py): a credential's name carries its id through copies, and only the
registry's own actors are their own ids."""

import copy
import dataclasses
import pickle

from chalicelib.domain.actors import Actor, actor_id, is_reserved


def test_a_credentials_actor_keeps_its_id_through_copies_and_pickles():
    actor = Actor("ci", "0123456789abcdef")

    @dataclasses.dataclass
    class Held:
        by: str

    for again in (copy.deepcopy(actor), pickle.loads(pickle.dumps(actor)), dataclasses.asdict(Held(actor))["by"]):
        assert (again, actor_id(again)) == ("ci", "0123456789abcdef")
    assert type(str(actor)) is str and str(actor) == "ci"


def test_the_registrys_own_actors_are_their_own_ids_and_other_plain_names_have_none():
    for own in ("sweep", "registry", "retention", "bootstrap-admin", "anonymous", "s3:base/m.json"):
        assert actor_id(own) == own
    assert actor_id("ci") is None
    assert is_reserved("SWEEP") and is_reserved("S3:x") and not is_reserved("s3-bot")
