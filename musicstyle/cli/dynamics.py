"""Dynamics commands: ``judge``, ``train dynamics`` and ``evaluate transfer`` (did the style move?)."""

from __future__ import annotations

from ..data.groups import GROUPS
from ..dynamics.model import RELATIONS_MEMBERS
from ..dynamics.relations import SEGMENT_NOTES
from . import add_run_options, at_least, each_file, emit, seed, shows_progress, with_verdict


def _data_option(p) -> None:
    p.add_argument("--data", help="folder with classical/ and jazz/ MIDI subfolders (default: TPD)")


def register(groups) -> None:
    p = groups["top"].add_parser("judge", help="classical, jazz or unrelated? the trusted judge's verdict on a piece's dynamics")
    p.add_argument("files", nargs="+", metavar="FILE", help="MIDI files (several: one verdict each; with --json one line each)")
    p.add_argument("--relations", help="a relations judge file (default: the shipped one)")
    p.add_argument("--stretches", action="store_true", help="also the verdict on each stretch of notes the judge reads "
                   f"(about {SEGMENT_NOTES} for the shipped judge; the piece's is their mean log-probability)")
    p.add_argument("--json", action="store_true", help="print JSON (figures as measured, not rounded for display)")
    p.set_defaults(func=_judge)

    p = groups["train"].add_parser("dynamics", help="train a dynamics discriminator (jazz vs classical from velocities) on "
                                   "real pieces and the shipped velocity models' re-predictions of them")
    _data_option(p)
    p.add_argument("--kind", choices=("relations", "cnn", "stats"), default="relations",
                   help="the relations judge (the trusted kind, the default: velocities against the notes; three "
                        "outcomes: classical, jazz, unrelated), a sequence CNN, or segment statistics")
    p.add_argument("--epochs", type=at_least(1), help="epochs (default: 12 for cnn, 60 for stats, 150 for relations; fewer in quick mode)")
    p.add_argument("--real-only", action="store_true",
                   help="train on real pieces only (no velocity-model re-predictions): the raw discriminator")
    p.add_argument("--extra-models", nargs=2, action="append", metavar=("CLASSICAL.keras", "JAZZ.keras"),
                   help="another pair of velocity models (yours) whose own-genre re-predictions are added beside the "
                        "shipped models' (repeatable; not with --real-only)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the initial weights and of the training crops")
    p.add_argument("--hold-out", choices=GROUPS, help="leave this recording-source group out of every side "
                   "(measure on it with evaluate transfer --split held-out --hold-out GROUP --relations FILE, "
                   "or --cnn/--stats FILE)")
    p.add_argument("--hidden", type=at_least(0), help="hidden ReLU units of the relations or stats judge "
                   "(default: 16 for relations, 32 for stats; 0: logistic regression)")
    p.add_argument("--segment-notes", type=at_least(0), help="notes per segment the relations judge reads; "
                   f"a piece's verdict is its segments' mean log-probability (0: whole pieces; default: {SEGMENT_NOTES})")
    p.add_argument("--members", type=at_least(1), help="relations judges trained from seeds SEED, SEED+1, ... and averaged "
                   f"in one file (default: {RELATIONS_MEMBERS} for relations; the other kinds train one network)")
    p.add_argument("-o", "--output", "--out", dest="output", default=None,
                   help="model file to write (.keras; written by the chief only; default: the shipped file's name in the "
                        "current folder, dynamics_KIND.keras, or dynamics_KIND_raw.keras with --real-only)")
    add_run_options(p)
    p.set_defaults(func=_train)

    p = groups["evaluate"].add_parser("transfer", help="did the style move? discriminator verdicts before/after transfer")
    p.add_argument("--split", choices=("all", "test", "held-out"), default="all",
                   help="'test': only the held-out side of the piece-level split (musicstyle.data.SPLIT_SEED), as for TPD; "
                        "'held-out': every piece of the --hold-out group")
    _data_option(p)
    p.add_argument("--hold-out", choices=GROUPS, help="the recording-source group of --split held-out")
    for kind, what in (("relations", "relations judge"), ("cnn", "CNN discriminator"), ("stats", "statistics discriminator")):
        p.add_argument(f"--{kind}", help=f"{what} file (default: the shipped one)")
    p.add_argument("--velocity-models", nargs=2, metavar=("CLASSICAL.keras", "JAZZ.keras"),
                   help="the velocity models whose transfers are judged (yours, trained with `musicstyle train velocity`; "
                        "default: the shipped ones)")
    p.add_argument("--trusted", choices=("relations", "ensemble", "cnn", "stats"), default="relations",
                   help="judge reported first (default: relations, which hears velocities against the notes; "
                        "ensemble: the mean log-odds of cnn and stats)")
    p.add_argument("--no-texture", dest="texture", action="store_false",
                   help="judge the velocity models' mean predictions alone (transfer writes mean + texture)")
    p.add_argument("--per-piece", action="store_true",
                   help="also the trusted judge's verdict on each piece: as played, own model, transferred, controls")
    p.add_argument("--by-group", action="store_true",
                   help="also the trusted judge's figures on each recording-source group of the pieces (quantised, "
                        "no-pedal, loud, soft): how it fares on each kind of file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_evaluate)


def _judge(args) -> int:
    from ..core.inputs import input_file
    from ..core.midi import read_midi
    from ..dynamics import OUTCOMES, caution, outcome_probabilities, relations_judge, stretch_probabilities
    from ..settings import quiet_tensorflow

    quiet_tensorflow()

    def one(name: str) -> dict:
        path = input_file(name)
        perf = read_midi(path.read_bytes(), name=str(path))  # bad input fails here, before any model loads
        model, meta = relations_judge(args.relations)  # loaded once
        result = {"file": str(path), "notes": len(perf.notes), **with_verdict(outcome_probabilities(model, meta, perf))}
        if args.relations:  # a judge of one's own is named; the shipped one is the default the help gives
            from ..training.shipped import described, model_file

            result["judge_file"] = described(model_file(args.relations))
        if note := caution(perf):
            result["caution"] = note
        if args.stretches:
            rows = stretch_probabilities(model, meta, perf)
            if args.json:
                result["stretches"] = [{**r, **{k: float(r[k]) for k in OUTCOMES}} for r in rows]
            else:
                result["stretches"] = {f"{r['start_s']:.1f}-{r['end_s']:.1f} s": "  ".join(f"{k} {r[k]:.2f}" for k in OUTCOMES)
                                       for r in rows}
        return result

    return each_file(args.files, one, args.json)


def _train(args) -> int:
    from ..dynamics import train_command
    from ..settings import quiet_tensorflow

    if args.real_only and args.extra_models:
        from ..errors import MusicstyleError

        raise MusicstyleError("--extra-models", "model re-predictions are not used with --real-only (real pieces only)")
    quiet_tensorflow()
    segments = {} if args.segment_notes is None else {"segment_notes": args.segment_notes}
    result = train_command(args.kind, args.output or f"dynamics_{args.kind}{'_raw' * args.real_only}.keras", data=args.data, epochs=args.epochs, real_only=args.real_only,
                           extra_models=args.extra_models, seed=args.seed, strategy=args.strategy,
                           checkpoint_dir=args.checkpoint_dir, hold_out=args.hold_out, hidden=args.hidden,
                           members=args.members, **segments)
    emit(result, False)
    return 0


#: What ``evaluate transfer`` prints above its tables.
_HEADER = ("data", "split", "hold_out", "texture", "velocity_models", "judge_files", "pieces", "routes_skipped",
           "skipped", "no_dynamics", "skipped_files", "short_pieces", "learned_from")


def _evaluate(args) -> int:
    from ..dynamics import evaluate_command
    from ..settings import quiet_tensorflow

    quiet_tensorflow()
    result = evaluate_command(args.data, args.split, cnn=args.cnn, stats=args.stats, trusted=args.trusted,
                              texture=args.texture, progress=shows_progress(args), relations=args.relations,
                              hold_out=args.hold_out, per_piece=args.per_piece, by_group=args.by_group,
                              velocity_models=dict(zip(("classical", "jazz"), args.velocity_models or ())) or None)
    if args.json:
        emit(result, True)
        return 0
    from ..figures.dynamics import group_table, observation_table, per_piece_table, routes_table, table

    emit({k: v for k, v in result.items() if k in _HEADER}, False)
    print(f"\n{table(result)}\n\nroutes, judged by the trusted judge:\n{routes_table(result)}\n\n{observation_table(result)}")
    if args.by_group:
        print(f"\ntrusted judge, by recording-source group:\n{group_table(result)}")
    if args.per_piece:
        print(f"\n{per_piece_table(result)}")
    return 0
