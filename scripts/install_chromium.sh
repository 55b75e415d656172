#!/usr/bin/env sh
# The play mode's browser test drives Debian's chromium (tests/test_play_browser.py). Install it when it is missing
# and apt-get can; otherwise say why the browser test will be skipped. Never fails the build.
if command -v chromium >/dev/null 2>&1; then
	exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
	echo "installing chromium for the browser test (apt-get, about a minute)"
	if apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; then
		exit 0
	fi
	echo "could not install chromium with apt-get: the browser test will be skipped"
else
	echo "no chromium and no root apt-get to install it: the browser test will be skipped"
fi
exit 0
