"""Interactive play: a player picks latent actions and the world model dreams the next frame in real time.

- ``settings.py``  the ``play:`` config section, checked, and the key map (arrow keys / space -> latent actions)
- ``session.py``   PlaySession: one player's token history, held action, action history and recording
- ``rate.py``      Rate: moving-average rates (model steps/s, frames/s)
- ``loop.py``      StepLoop: steps one session at a target rate in the model thread and sends each frame
- ``starts.py``    start frames: a held-out episode's frame, a random one, or an uploaded image / video frame
- ``recording.py`` a session's frames as a GIF (imageio) or an MP4 (PyAV)
- ``server.py``    the local aiohttp app: the page, its assets (an allow-list), a JSON API and a WebSocket per tab
- ``terminal.py``  the terminal fallback (ANSI half-block pixels, keys from a raw TTY)
- ``launch.py``    ``play(run_dir, settings)``: what ``python dream.py mode=play`` calls
- ``static/``      the page: index.html, play.js, play.css
"""
