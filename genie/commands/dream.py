"""``genie-dream``: dream, evaluate or play a trained world. `genie-dream [run=<run dir>] [mode=dream|eval|play]`."""

import hydra
from omegaconf import DictConfig, OmegaConf

from genie.cli import register_resolvers, user_errors_exit

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="dream")
@user_errors_exit
def main(cfg: DictConfig) -> None:
    from genie.eval.report import write_report
    from genie.eval.settings import DREAM_COMMAND_KEYS, ReportSettings
    from genie.runs import find_run, open_store_of_run

    run_dir = find_run(cfg.run, cfg.paths.log_dir)
    settings = OmegaConf.to_container(cfg, resolve=True)
    if cfg.mode in ("dream", "eval"):
        report = ReportSettings.from_config(settings, ignore=DREAM_COMMAND_KEYS)
        metrics = write_report(run_dir, open_store_of_run(run_dir, cfg.store), report, artefacts=cfg.mode == "dream")
        out = cfg.out_dir or run_dir / "dream"
        if cfg.mode == "dream":
            print(f"dream artefacts: {out}")
            print(f"dream/frames_per_second = {metrics['dream/frames_per_second']:.1f}")
        else:
            print(f"evaluation: {out}/eval.json")
            for key in ("dynamics/psnr_next", "dynamics/psnr_copy_baseline", "dynamics/delta_t_psnr",
                        "lam/effect_nmi"):
                if key in metrics:
                    print(f"{key} = {metrics[key]:.4g}")
    elif cfg.mode == "play":
        from genie.play.launch import play

        play(run_dir, settings)
    else:
        from genie.errors import UserError

        raise UserError(f"mode={cfg.mode!r}: unknown mode (known: dream, eval, play)")


if __name__ == "__main__":
    main()
