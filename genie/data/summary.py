"""A few human-readable lines about an episode store: what `python prepare.py` prints."""

from __future__ import annotations

from genie.data.store import SPLITS, EpisodeStore


def describe(store: EpisodeStore) -> list[str]:
    """Source, size, frames per split and, for an imported video folder, the files found and the ones skipped (why)."""
    fps = store.manifest.get("fps")
    actions = f"{store.num_actions} true actions" if store.num_actions else "no true actions"
    lines = [f"store: {store.root} ({store.source}, {store.frame_size}x{store.frame_size} px, "
             f"{f'{fps:g} fps' if fps else 'source fps'}, {actions})"]
    per_split = []
    for split in SPLITS:
        episodes = store.episodes(split)
        per_split.append(f"{split} {len(episodes)} episodes / {sum(e.length for e in episodes)} frames")
    total = sum(e.length for e in store.episodes())
    lines.append(f"frames: {total} in {len(store)} episodes ({', '.join(per_split)})")
    extra = store.manifest.get("extra", {})
    if "files" in extra:
        skipped = extra.get("skipped", {})
        lines.append(f"files: {extra['files']} found in {extra['folder']}, "
                     f"{extra['files'] - len(skipped)} in the store, {len(skipped)} skipped")
        lines += [f"skipped: {rel}: {record['reason']}" for rel, record in sorted(skipped.items())]
    if "split_by" in extra:
        lines.append(f"split by {extra['split_by']}: {extra['split_reason']}")
        lines += [f"warning: held-out {rel} looks unlike every training video (colour distance {d:.2f}): its scores "
                  "measure another game" for rel, d in sorted(extra.get("unlike_training", {}).items())]
    return lines
