"""A digest's chart is uploaded once per channel and shown again from Slack's copy."""

from __future__ import annotations

from typing import Any

from adapters.slack.uploads import Uploaded
from bot.ports import Attachment, Destination, DestinationKind
from tests.fakeslack import FakeSlack
from tests.fakeslack_parts import dm_of
from tests.harnesses.slack import SlackHarness
from tests.test_slack_adapter import h
from tests.test_slack_port import BERTA, fake, port_for

__all__ = ["fake", "h"]  # fixtures shared with test_slack_port and test_slack_adapter

CHART = Attachment("measures-2026-W47.png", b"\x89PNG chart", "image/png", "Measures to 2026-W47")
BO = Destination(DestinationKind.PERSON, "T0TEST:U0BO")


def images(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    """The image blocks posted to ``channel`` (an image shown again)."""
    return [
        block
        for message in fake.channel(channel)
        for block in message.blocks
        if block.get("type") == "image"
    ]


async def test_an_image_is_uploaded_once_per_channel_and_shown_again(fake: FakeSlack) -> None:
    port = await port_for(fake)
    try:
        first = await port.upload(BERTA, CHART, "Shared measurement")
        again = await port.upload(BERTA, CHART, "Shared measurement")
        [file_id] = fake.files
        [shown] = images(fake, "D0BERTA")
        assert shown["slack_file"] == {"id": file_id} and shown["alt_text"] == CHART.title
        assert again.address == first.address == "D0BERTA" and port.stats.images_reused == 1
        await port.upload(BO, CHART)  # another channel: Bo cannot see Berta's copy
        assert len(fake.files) == 2 and fake.files[list(fake.files)[1]]["channel"] == "D0BO"
        export = Attachment("export.csv", b"a,b", "text/csv")
        await port.upload(BERTA, export)
        await port.upload(BERTA, export)  # only images are shown again
        assert len(fake.files) == 4
    finally:
        await port.close()


async def test_an_image_slack_no_longer_has_is_uploaded_again(fake: FakeSlack) -> None:
    port = await port_for(fake)
    try:
        await port.upload(BERTA, CHART)
        fake.files.clear()  # deleted in Slack
        await port.upload(BERTA, CHART)
        [refused] = [c for c in fake.method_calls("chat.postMessage") if not c.ok]
        assert refused.body["blocks"][-1]["type"] == "image"
        [uploaded] = fake.files.values()
        assert uploaded["content"] == CHART.content and not images(fake, "D0BERTA")
        await port.upload(BERTA, CHART)  # the new copy is the one shown from now on
        assert len(fake.files) == 1 and len(images(fake, "D0BERTA")) == 1
    finally:
        await port.close()


def test_the_memory_of_uploads_is_bounded() -> None:
    uploaded = Uploaded(limit=2)
    for n in range(3):
        uploaded.remember(b"chart %d" % n, "D0BERTA", f"F{n}")
    assert uploaded.get(b"chart 0", "D0BERTA") is None
    assert uploaded.get(b"chart 2", "D0BERTA") == "F2" and uploaded.get(b"chart 2", "C1") is None


async def test_digest_twice_uploads_its_chart_once(h: SlackHarness) -> None:
    first = await h.command("bo", "digest")
    second = await h.command("bo", "digest")
    assert any("Response by organisation" in r for r in first)
    assert any("Response by organisation" in r for r in second)
    assert "Shared measurement to 2026-W48" in second  # the chart again, as an image block
    [chart] = [f for f in h.fake.files.values() if f.get("channel")]
    assert chart["channel"] == dm_of("U0BO") and str(chart["filename"]).endswith(".png")
    [shown] = images(h.fake, dm_of("U0BO"))
    assert shown["slack_file"]["id"] in h.fake.files
