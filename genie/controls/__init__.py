"""The game's keys <-> latent actions: what a key sends, in the report and in play alike.

- ``transitions.py``    labelled transitions of a run: each key's effect, how long it has been held, the LAM's code
- ``key_map.py``        the fixed key map: the latent action each effect sends, and the browser key that presses it
- ``key_controller.py`` KeyController: the net that picks a key's latent action from where the player is
- ``key_controls.py``   KeyControls: the key map and the controller fitted together, saved with the run, loaded
- ``previews.py``       what each latent action does from here, for choosing keys by eye (play's previews)
"""
