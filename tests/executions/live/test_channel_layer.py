"""The channel layer's receive outlasts a quiet Redis: channels-redis blocks up to 5 s per BZPOPMIN, and
redis-py 8 reads with a 5 s socket timeout by default, so a receive on a silent channel raised
`TimeoutError: Timeout reading from …` and killed the consumer (issue 13, point 4)."""

import asyncio
import threading
import uuid

import pytest
import redis
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from apps.core.redis_url import channel_layer_host

QUIET_SECONDS = 8  # longer than one blocking receive (5 s) and redis-py's default read timeout (5 s)


def receive_quietly(hosts) -> str:
    """What a receive on a channel nobody sends to ends with after QUIET_SECONDS: 'quiet' or the error."""
    outcome: dict = {}

    async def scenario():
        layer = RedisChannelLayer(hosts=hosts, prefix=f"quiet-{uuid.uuid4().hex[:8]}")
        channel = await layer.new_channel()
        try:
            await asyncio.wait_for(layer.receive(channel), timeout=QUIET_SECONDS)
            outcome["value"] = "message"
        except redis.exceptions.TimeoutError as error:
            outcome["value"] = f"TimeoutError: {error}"
        except TimeoutError:
            outcome["value"] = "quiet"  # our own deadline: the layer was still waiting, as it should
        except Exception as error:
            outcome["value"] = f"{type(error).__name__}: {error}"
        finally:
            await layer.flush()
            await layer.close_pools()

    # A thread of its own: Playwright leaves an event loop running on the main thread.
    thread = threading.Thread(target=lambda: asyncio.run(scenario()))
    thread.start()
    thread.join()
    return outcome["value"]


def test_the_configured_channel_layer_waits_through_silence_without_a_redis_timeout():
    hosts = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
    assert hosts == [channel_layer_host(settings.REDIS_URL)]
    assert receive_quietly(hosts) == "quiet"


@pytest.mark.skipif(int(redis.__version__.split(".")[0]) < 8, reason="older redis-py read without a default timeout")
def test_a_bare_url_would_time_out_the_receive_which_is_why_the_host_has_options():
    # The reported failure, reproduced: what the settings had before.
    assert receive_quietly([settings.REDIS_URL]).startswith("TimeoutError: Timeout reading from")
