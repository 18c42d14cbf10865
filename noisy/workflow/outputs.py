"""What the figures, the report and the self-training check read, from the configuration.

``report_tables`` in the config names the tables the report covers; the figures it
shows follow from those tables, each with its caption, and so do the trainings whose
hours it counts. Every file named here is a declared input of the rule that reads it.

A run's final outputs (tables, figures, checks, report) go to :func:`final_folder`:
``results/`` for the unnamed run, ``results/<run>/`` for config ``run=<run>``, so that two
named runs never overwrite each other's tables; the stages' folders stay shared by all.
"""

from __future__ import annotations

from noisy.workflow.config import ConfigError, experiment_settings
from noisy.workflow.stages import RESULTS, SHARED_FOLDERS, Model, Plan
from noisy.workflow.tables import (
    TABLES,
    drawn_from,
    eval_file,
    experiments,
    rows,
    training_set_file,
)


def report_tables(config: dict) -> list[str]:
    """The tables the report covers (default: all ten)."""
    return list(config.get("report_tables") or TABLES)


# Folders of the unnamed run's final outputs, beside the shared ones.
FINAL_SUBFOLDERS = ("figures", "logs")


def final_folder(config: dict) -> str:
    """Where the run's final outputs go: ``results`` unless config ``run`` names the run.

    Raises :class:`ConfigError` for a run name that is a folder of results/ already."""
    run = config.get("run")
    if not run:
        return RESULTS
    taken = [folder.rsplit("/", 1)[-1] for folder in SHARED_FOLDERS] + list(FINAL_SUBFOLDERS)
    if run in taken:
        raise ConfigError(f"config key 'run': {run!r} is a folder of {RESULTS}/ already "
                          f"(taken: {', '.join(taken)}); choose another run name")
    return f"{RESULTS}/{run}"


def table_file(config: dict, table: str) -> str:
    """The CSV a table is written to."""
    return f"{final_folder(config)}/{table}.csv"


def report_table_entries(config: dict) -> list[dict]:
    """Each reported table: its name (``table``), its CSV (``path``) and the paper's
    (``paper``, shipped in noisy/paper_tables/)."""
    return [{"table": table, "path": table_file(config, table),
             "paper": str(TABLES[table].paper_csv)} for table in report_tables(config)]


def fgsm_entries(plan: Plan) -> list[dict]:
    """Figure 1's lines: per row label and seed of the table it is drawn from (Table 5),
    the robustness file of its final network."""
    final = {}
    for row in rows(plan, drawn_from("figure1")):
        label = row["keys"]["label_type"]
        final[(label, row["seed"])] = {"label": label, "network": row["keys"]["network"],
                                       "seed": row["seed"], "path": row["files"]["robustness"]}
    return list(final.values())


def chain_experiments(config: dict) -> list[str]:
    """Experiments of the reported chain tables, in order, without repeats."""
    names = [name for table in report_tables(config)
             if TABLES[table].kind in ("chain", "robustness")
             for _, name in experiments(config, table)]
    return list(dict.fromkeys(names))


def training_curve_entries(plan: Plan) -> list[dict]:
    """Every network of each reported chain: the teacher's history, then each student's."""
    return [{"label": experiment, "network": model.network, "seed": seed,
             "path": model.files.history}
            for seed in plan.config["seeds"] for experiment in chain_experiments(plan.config)
            for model in plan.chain(experiment, seed).models]


def class_count_tables(config: dict) -> list[str]:
    """CSV files of the reported per-class count tables (4, 8, 9)."""
    return [table_file(config, t) for t in report_tables(config) if TABLES[t].counts]


# What the report says under each figure, by its path in the run's final folder.
FIGURE_CAPTIONS = {
    "figure1.png": "Figure 1: top-1 accuracy under FGSM against epsilon, per pseudo-label "
                   "type (final ResNet-38 of each chain), the teacher and the network "
                   "without self-training (orange). Data: figure1.csv.",
    "figures/class_counts.png": "Per-class counts each teacher hands on (Tables 4, 8, 9), "
                                "before class balancing.",
    "figures/training_curves.png": "Test accuracy (solid) and train loss (dashed) of every "
                                   "network of each chain against the fraction of its "
                                   "training.",
    "figures/corruption_grid.png": "A few test images under each CIFAR-10-C corruption "
                                   "(rows) at severities 1 to 5 (columns).",
}


def seed_spread_figure(config: dict, table: str) -> dict:
    """The seed-spread figure of ``table`` with its caption."""
    return {"path": f"{final_folder(config)}/figures/seed_spread_{table}.png",
            "caption": f"{table}: each row's mean ± std over seeds (blue) and the paper's "
                       "single run (red cross)."}


def report_figures(config: dict) -> list[dict]:
    """The figures the reported tables call for: each image (``path``) and its ``caption``."""
    chosen = report_tables(config)
    paths = []
    if drawn_from("figure1") in chosen:
        paths.append("figure1.png")
    if class_count_tables(config):
        paths.append("figures/class_counts.png")
    if chain_experiments(config):
        paths.append("figures/training_curves.png")
    if any(TABLES[t].kind == "robustness" for t in chosen):
        paths.append("figures/corruption_grid.png")
    folder = final_folder(config)
    figures = [{"path": f"{folder}/{path}", "caption": FIGURE_CAPTIONS[path]} for path in paths]
    if len(config["seeds"]) > 1:
        figures += [seed_spread_figure(config, t) for t in chosen if not TABLES[t].counts]
    return figures


def report_confusions(plan: Plan) -> list[dict]:
    """Confusion matrices of the final network of every reported chain (first seed): the
    image (``path``) and its ``caption``, naming the model's folder, the folder it learned
    from (its split or its balanced set) and the test images (the evaluation's folder)."""
    config = plan.config
    final = {experiment_settings(config, e)["chain"][-1] for e in config["experiments"]}
    final.add(config["table1"]["networks"][-1])
    first_seed = config["seeds"][0]
    models = [plan.stage(row["model"], Model) for table in report_tables(config)
              if not TABLES[table].counts
              for row in rows(plan, table) if row["seed"] == first_seed]
    models = {model.dir: model for model in models if model.network in final}
    return [_confusion(plan, model) for model in models.values()]


def _confusion(plan: Plan, model: Model) -> dict:
    evaluation = plan.evaluation(model)
    trained_on = (model.split if model.balanced is None else model.balanced).dir
    return {"path": evaluation.files.confusion,
            "caption": f"Confusion matrix: {_name(model.dir)}, trained on {_name(trained_on)} "
                       f"({_name(evaluation.dir)})"}


def _name(folder: str) -> str:
    return folder.rsplit("/", 1)[-1]


def report_models(plan: Plan) -> list[Model]:
    """Every model whose training the reported tables rest on: the models of each row's
    result files and every teacher before them."""
    folders = dict.fromkeys(path.rsplit("/", 1)[0] for table in report_tables(plan.config)
                            for row in rows(plan, table) for path in row["files"].values())
    models = {model.dir: model for folder in folders for model in plan.trained_models(folder)}
    return list(models.values())


def report_trainings(plan: Plan) -> list[dict]:
    """Every training of :func:`report_models`: its ``role`` (supervised or student), its
    Snakemake ``benchmark`` file and its ``definition`` (stage.json, where the train job
    records the device it ran on). The report's compute accounting reads these alone."""
    return [{"role": model.role, "benchmark": model.files.benchmark,
             "definition": model.files.definition} for model in report_models(plan)]


def report_settings(plan: Plan) -> dict:
    """What the report's header states about the run."""
    config = plan.config
    return {
        "scale": config["scale"],
        "preset": plan.preset,
        "seeds": config["seeds"],
        "data_source": config["data_source"],
        "precision": plan.precision,
        "robustness_source": config["robustness"]["source"],
        "labeled_ratios": config["table1"]["labeled_ratios"],
    }


def self_training_rows(plan: Plan) -> list[dict]:
    """Rows of the run's self_training.csv (see :mod:`noisy.reporting.self_training`): keys,
    budget and the result files each reads. Every experiment must start from the same
    teacher."""
    config, values = plan.config, plan.preset
    check = config["self_training_check"]
    teachers = {(experiment_settings(config, name)["labeled_ratio"],
                 experiment_settings(config, name)["chain"][0])
                for name in check["experiments"]}
    if len(teachers) != 1:
        raise ConfigError("config key 'self_training_check.experiments': the experiments "
                         f"start from different teachers {sorted(teachers)}")
    (ratio, _), = teachers
    result = []
    for seed in config["seeds"]:
        chains = [plan.chain(name, seed) for name in check["experiments"]]
        teacher = chains[0].teacher
        result.append({"seed": seed, "role": "teacher", "experiment": "",
                        "network": teacher.network, "train_images": values["labeled_budget"],
                        "files": {"eval": eval_file(plan, teacher)}})
        networks = []
        for chain in chains:
            for link in chain.links:
                if link.student.network not in check["networks"]:
                    continue
                networks.append(link.student.network)
                result.append({"seed": seed, "role": "student", "experiment": chain.experiment,
                               "network": link.student.network,
                               "train_images": values["student_budget"],
                               "files": {"eval": eval_file(plan, link.student),
                                         **training_set_file(link.student)}})
        for network in dict.fromkeys(networks):
            yardstick = plan.yardstick(ratio, seed, network)
            result.append({"seed": seed, "role": "yardstick", "experiment": "",
                           "network": network, "train_images": values["student_budget"],
                           "files": {"eval": eval_file(plan, yardstick)}})
    return result


def teacher_check_rows(plan: Plan) -> list[dict]:
    """Rows of the run's teacher_check.csv (see :mod:`noisy.reporting.teacher_check`): per
    seed, the default chain's first teacher, the result files it reads (clean evaluation,
    training history, the candidates it hands on, its split's summary) and the paper's
    tables it is set against, each named for what it prints of the paper's teacher
    (``paper_accuracy``: Table 1, ``paper_candidates``: Table 4's teacher row,
    ``paper_calibration``: Table 5's; the registry's ``teacher_numbers``)."""
    defaults = plan.config["student_defaults"]
    result = []
    for seed in plan.config["seeds"]:
        teacher, selection = plan.default_teacher(seed)
        result.append({
            "seed": seed, "network": teacher.network,
            "labeled_ratio": teacher.split.settings["labeled_ratio"],
            "threshold": defaults["threshold"],
            "train_images": teacher.settings["train"]["budget_images"],
            "monitor_images": teacher.settings["monitor_test_size"],
            "files": {"eval": eval_file(plan, teacher), "history": teacher.files.history,
                      "counts": selection.files.summary, **training_set_file(teacher),
                      **{f"paper_{spec.teacher_numbers}": str(spec.paper_csv)
                         for spec in TABLES.values() if spec.teacher_numbers}}})
    return result
