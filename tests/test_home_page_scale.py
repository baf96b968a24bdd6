"""The home page stays small at any size: the first cards and a bounded embedded copy."""

from __future__ import annotations

from registry.build.site.registrypages import EMBEDDED_MODELS, PAGE_CARDS, _home_catalog


def test_a_large_registry_draws_the_first_cards_and_embeds_a_bounded_copy() -> None:
    search = {"schema_version": "1", "models": [{"name": f"m-{i:06d}"} for i in range(2500)]}
    home = _home_catalog(search)
    assert [m["name"] for m in home["cards"]] == [f"m-{i:06d}" for i in range(PAGE_CARDS)]
    assert home["more"] == 2500 - PAGE_CARDS
    assert len(home["embedded"]["models"]) == EMBEDDED_MODELS
    assert home["embedded"]["schema_version"] == "1"


def test_a_small_registry_draws_and_embeds_everything() -> None:
    search = {"models": [{"name": "a"}, {"name": "b"}]}
    home = _home_catalog(search)
    assert home["cards"] == search["models"] and home["more"] == 0
    assert home["embedded"] == search
