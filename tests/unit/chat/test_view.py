"""The neutral item view every renderer draws from."""

from __future__ import annotations

from dataclasses import replace

from bot.chat.view import item_view, reply_views
from bot.core.models import ItemGroup, PaperItem, Reply, Summary
from tests.support.factories import make_paper


def test_numbers_run_across_groups_and_sections_fall_back_to_the_abstract() -> None:
    summary = Summary(tldr="t", key_points=("a", "b", "c", "d", "e"), results="r", topics=("cv",))
    with_summary = PaperItem(make_paper(1), summary=summary, source_line="arXiv cs.CV · 2h ago")
    bare = PaperItem(make_paper(2))
    reply = Reply(groups=(ItemGroup("A", (with_summary,)), ItemGroup("B", (bare,))))
    (first,), (second,) = reply_views(reply)
    assert (first.number, second.number) == (1, 2)
    assert first.key_points == ("a", "b", "c", "d") and first.sections == (("Results", "r"),)
    assert first.tags == ("Computer Vision",) and first.id_label == "arXiv:" + first.paper_id
    assert not second.has_summary and second.preview == make_paper(2).abstract
    assert second.sections == (("Abstract", make_paper(2).abstract),)


def test_only_http_links_are_offered() -> None:
    paper = replace(make_paper(3), url="javascript:alert(1)")
    assert item_view(PaperItem(paper), 1).url is None
    assert item_view(PaperItem(make_paper(4)), 1).url == make_paper(4).url
