"""``genie-dream``: dream, evaluate or play a trained world. `genie-dream [run=<run dir>] [mode=dream|eval|play]`."""

import hydra
from omegaconf import DictConfig, OmegaConf

from genie.cli import register_resolvers, user_errors_exit

register_resolvers()


@hydra.main(version_base="1.3", config_path="../configs", config_name="dream")
@user_errors_exit
def main(cfg: DictConfig) -> None:
    from genie.eval.report import write_report
    from genie.runs import find_run, open_store_of_run

    run_dir = find_run(cfg.run, cfg.paths.log_dir)
    settings = OmegaConf.to_container(cfg, resolve=True)
    if cfg.mode == "dream":
        metrics = write_report(run_dir, open_store_of_run(run_dir, cfg.store), settings)
        out = cfg.out_dir or run_dir / "dream"
        print(f"dream artefacts: {out}")
        print(f"dream/frames_per_second = {metrics['dream/frames_per_second']:.1f}")
    elif cfg.mode == "eval":
        from genie.eval.report import write_evaluation

        metrics = write_evaluation(run_dir, open_store_of_run(run_dir, cfg.store), settings)
        print(f"evaluation: {cfg.out_dir or run_dir / 'dream'}/eval.json")
        for key in ("dynamics/psnr_next", "dynamics/psnr_copy_baseline", "dynamics/delta_t_psnr", "lam/effect_nmi"):
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
