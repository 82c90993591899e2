"""edgeseg command line: process | live | eval | info | doctor | bench | tune | web | train | export.

Heavy imports happen lazily."""
from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
from pathlib import Path

from .errors import ConfigError, EdgeSegError
from .sizes import parse_hw  # noqa: F401  (its home is edgeseg.sizes; model sizes are HxW, frame sizes WxH)

log = logging.getLogger("edgeseg")


def add_model_args(p: argparse.ArgumentParser) -> None:
    from .meta import COLOURS, ModelMeta
    from .session import PROVIDER_CHOICES
    from .variants import VARIANTS
    plain = ModelMeta()             # what --input-size assumes unless told
    g = p.add_argument_group("model")
    g.add_argument("--model", help="an .onnx model (default: the bundled model)")
    g.add_argument("--precision", choices=tuple(VARIANTS),
                   help="variant (default: the tuned profile's, else fp32 on the CPU and fp16 on a GPU)")
    g.add_argument("--provider", choices=PROVIDER_CHOICES,
                   help="default: the tuned profile's, else auto (TensorRT, then CUDA, then the CPU, as installed)")
    g.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads (default: the tuned profile's, "
                                               "else 1 on CPU, the fastest for this small a model, and the "
                                               "provider's own default on a GPU)")
    g.add_argument("--no-profile", action="store_true", help="ignore the profile saved by `edgeseg tune`")
    g.add_argument("--input-size", help="for a model without edgeseg metadata: its input size HxW (height first)")
    g.add_argument("--canvas", help="base model input size HxW (height first) for a model with dynamic H/W "
                                    "(the bundled one: 176x320; 144x256 is faster and less accurate)")
    g.add_argument("--colour", choices=COLOURS, default=plain.colour, help="with --input-size: channel order")
    g.add_argument("--mean", default=",".join(f"{v:g}" for v in plain.mean),
                   help="with --input-size: per-channel mean after /255")
    g.add_argument("--std", default=",".join(f"{v:g}" for v in plain.std),
                   help="with --input-size: per-channel std after /255")
    g.add_argument("--no-refine", action="store_true", help="skip the edge-aware (guided filter) refinement")
    g.add_argument("--no-zoom", action="store_true", help="eval and process: skip the second model call on the box "
                                                          "around small people (README: zoom); live zooms only "
                                                          "with --zoom-video")
    g.add_argument("--flip-average", action="store_true",
                   help="also segment the mirrored frame and average: twice the model calls, a little more "
                        "accurate (README: zoom and flip averaging)")


def add_video_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("video output")
    g.add_argument("--codec", choices=("h264", "hevc", "vp9", "mpeg4", "ffv1"),
                   help="video codec (default: h264 for .mp4/.mov/.mkv, vp9 for .webm and for a cutout)")
    g.add_argument("--crf", type=int, help="quality, lower is better (default: h264 23, hevc 28, vp9 32)")


def add_effect_args(p: argparse.ArgumentParser) -> None:
    from .pipeline import EFFECTS, PipelineOptions
    from .postprocess import FEATHER_DIRECTIONS
    from .subject import SUBJECT_MODES
    d = PipelineOptions()           # the defaults live in the options dataclass
    g = p.add_argument_group("effect")
    g.add_argument("--effect", default=d.effect, choices=EFFECTS,
                   help="cutout: the person on a transparent background (RGBA PNG/WebP, VP9+alpha .webm)")
    g.add_argument("--blur", type=float, default=d.blur_strength, help="blur strength (sigma in 720p pixels)")
    g.add_argument("--background", help="image or video for --effect replace")
    g.add_argument("--feather", type=float, default=d.feather_px, help="edge softness in 720p pixels")
    g.add_argument("--feather-direction", default=d.feather_direction, choices=FEATHER_DIRECTIONS)
    g.add_argument("--no-temporal", action="store_true", help="turn temporal smoothing off")
    g.add_argument("--mask-every", type=int, default=d.mask_every, help="run the model every N frames")
    g.add_argument("--subject", default=d.subject, choices=tuple(SUBJECT_MODES),
                   help="keep every person (all), the largest region in each frame, or the main person, tracked")
    g.add_argument("--stats-json", help="write frames, ms/frame median/p90 and per-stage p50/p90 here")


def segmenter_options(args):
    from .meta import ModelMeta
    from .segmenter import SegmenterOptions
    meta = canvas = None
    if args.input_size:
        hw = parse_hw(args.input_size)
        try:
            mean = tuple(float(v) for v in args.mean.split(","))
            std = tuple(float(v) for v in args.std.split(","))
        except ValueError:
            raise ConfigError("--mean and --std are three numbers a,b,c") from None
        meta = ModelMeta(input_hw=hw, adaptive=False, colour=args.colour, mean=mean, std=std, name="custom")
    if args.canvas:
        if args.input_size:
            raise ConfigError("--canvas and --input-size conflict: --input-size describes a model without metadata "
                              "(fixed size), --canvas resizes one with dynamic H/W; pass one of them")
        canvas = parse_hw(args.canvas, "--canvas")
    provider, precision, threads = args.provider, args.precision, args.threads
    if not args.no_profile and not args.model and None in (provider, precision, threads):
        from .tune import load_profile, profile_path
        profile = load_profile()
        if profile:
            provider = provider or profile["provider"]
            precision = precision or profile["precision"]
            threads = profile["threads"] if threads is None else threads
            log.info("using the tuned profile %s (%s, %s, %d threads)", profile_path(), provider, precision, threads)
    return SegmenterOptions(model_path=args.model, precision=precision, provider=provider or "auto",
                            threads=threads or 0, refine=not args.no_refine, meta=meta, input_size=canvas,
                            zoom=not args.no_zoom, flip_average=args.flip_average)


def build_pipeline(args, offline: bool = False):
    """The Pipeline the flags describe. offline (`process`): OpenCV keeps its own thread pool, which
    finishes a file sooner beside the encoder's threads (desk.mp4: 0.92x the wall time, 1.13x the CPU of
    one OpenCV thread), and video frames zoom unless --no-zoom; live keeps the CPU-cheaper one thread
    (PipelineOptions.opencv_threads) and one model call per frame unless --zoom-video."""
    from .pipeline import Pipeline, PipelineOptions
    d = PipelineOptions()
    for flag, value in (("--blur", args.blur), ("--feather", args.feather)):   # in the flags' own names
        if value < 0:
            raise ConfigError(f"{flag} {value:g} must be ≥ 0 (in 720p pixels; the defaults: "
                              f"--blur {d.blur_strength:g}, --feather {d.feather_px:g})")
    if args.mask_every < 1:
        raise ConfigError(f"--mask-every {args.mask_every} must be ≥ 1 (1 runs the model on every frame)")
    opts = PipelineOptions(segmenter=segmenter_options(args), effect=args.effect, blur_strength=args.blur,
                           background=args.background, feather_px=args.feather,
                           feather_direction=args.feather_direction, temporal=not args.no_temporal,
                           mask_every=args.mask_every, subject=args.subject,
                           budget_ms=getattr(args, "budget_ms", None),
                           zoom_video=not args.no_zoom if offline else getattr(args, "zoom_video", False),
                           opencv_threads=None if offline else d.opencv_threads)
    return Pipeline(opts)


def cmd_process(args) -> int:
    import glob
    from .errors import SourceError
    from .files import is_image
    from .sources import open_source
    from .video import is_folder_output, run_process
    out = Path(args.output).expanduser()
    first = Path(args.input[0]).expanduser()
    single = len(args.input) == 1 and first.is_file() and not (is_image(first) and is_folder_output(out))
    if len(args.input) == 1 and not first.exists() and not glob.has_magic(args.input[0]):
        raise SourceError(f"input {args.input[0]} not found; pass an image or video file, a folder of them, "
                          "or a glob such as 'photos/*.jpg'")
    if not single and not is_folder_output(out):
        raise ConfigError(f"several inputs (or a folder or glob) need -o to be a folder, e.g. -o {out.stem or 'out'}/")
    pipeline = build_pipeline(args, offline=True)
    if not single:
        from .batch import run_batch
        res = run_batch(pipeline, args.input, out, args.codec, args.crf, progress=not args.quiet,
                        stats_json=args.stats_json)
        print(res.summary())
        return res.exit_code
    res = run_process(pipeline, open_source(str(first), mirror=False), out, progress=not args.quiet,
                      stats_json=args.stats_json, codec=args.codec, crf=args.crf)
    s = res.summary
    print(f"{res.frames} frames -> {res.output}{f' ({res.note})' if res.note else ''}; pipeline "
          f"{s['ms_per_frame_median']:.2f} ms/frame median, {s['ms_per_frame_p90']:.2f} ms p90; "
          f"on {pipeline.segmenter.provider}")
    return res.exit_code


def cmd_live(args) -> int:
    from .errors import SourceError
    from .sizes import parse_size
    from .sources import open_source
    from .video import run_live
    try:
        source = open_source(args.source, parse_size(args.size), args.fps, args.mirror, repeat_images=True,
                             retries=args.retries)
    except SourceError as exc:
        if str(args.source).isdigit():
            raise SourceError(f"{exc}. No camera here? Try --source demo, --source FILE.mp4 or --source URL") from None
        raise
    pipeline = build_pipeline(args)
    res = run_live(pipeline, source, args.headless, args.max_frames, args.output, args.virtual_cam, args.stats_json,
                   codec=args.codec, crf=args.crf)
    print(f"stopped ({res.stopped_by}) after {res.frames} frames, {res.fps:.1f} fps on {pipeline.segmenter.provider}")
    print(pipeline.timings.format())
    if res.output:
        print(f"wrote {res.output} ({res.frames} frames): open it to see the result", flush=True)
    return res.exit_code


def cmd_eval(args) -> int:
    import csv
    from .evaluate import evaluate, image_mask_pairs
    from .segmenter import Segmenter
    import io
    from .outputs import check_writable, write_text_atomic
    for out in (args.json, args.per_image):         # checked before the work, written all-or-nothing
        if out:
            check_writable(Path(out).expanduser())
    pairs = image_mask_pairs(args.images, args.masks)
    with Segmenter(segmenter_options(args)) as seg:
        rows, summary = evaluate(seg, pairs, args.limit)
    text = json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()})
    print(text)
    if args.json:
        write_text_atomic(Path(args.json).expanduser(), text + "\n")
    if args.per_image:
        f = io.StringIO(newline="")
        w = csv.DictWriter(f, fieldnames=["image", "person_iou", "background_iou", "miou", "boundary_f"])
        w.writeheader()
        w.writerows(rows)
        write_text_atomic(Path(args.per_image).expanduser(), f.getvalue())
    return 0


def cmd_info(args) -> int:
    import dataclasses
    from .errors import ModelError
    from .models import DEFAULT_MODEL
    from .session import Session
    from .variants import variants_table
    path = Path(args.model).expanduser() if args.model else DEFAULT_MODEL
    if not path.exists():
        raise ModelError(f"model file {path} not found; pass the path of an .onnx file "
                         "(`edgeseg info` without a path describes the bundled default)")
    sess = Session(path, "cpu")
    info = {"file": str(sess.path), "kb": round(sess.path.stat().st_size / 1024, 1),
            "input": {"name": sess.input.name, "shape": list(sess.input.shape), "type": sess.input.type},
            "output": {"name": sess.output.name, "shape": list(sess.output.shape), "type": sess.output.type},
            "meta": dataclasses.asdict(sess.meta), "variants": variants_table(path)}
    print(json.dumps(info, indent=1, default=str))
    return 0


def cmd_doctor(args) -> int:
    from .doctor import format_text, report
    asked = _parse_list(args.provider, ("cpu", "cuda", "tensorrt"), "provider") if args.provider else []
    r = report(asked, args.model)
    print(json.dumps(r, indent=1) if args.json else format_text(r))
    if r["asked_failed"]:
        print(f"doctor: asked-for provider(s) {', '.join(r['asked_failed'])} cannot run here (see above)",
              file=sys.stderr)
        return 1
    return 0


def _parse_list(text: str, valid: tuple[str, ...], what: str) -> list[str]:
    from .errors import choices_error
    items = [t.strip() for t in text.split(",") if t.strip()]
    for t in items:
        if t not in valid:
            raise choices_error(what, t, valid)
    return items


def _bench_rows(args, log=print):
    from .bench import run_matrix
    from .sizes import parse_size
    from .variants import VARIANTS
    precisions = _parse_list(args.precision, tuple(VARIANTS), "precision")
    from .session import PROVIDER_NAMES
    providers = _parse_list(args.provider, tuple(PROVIDER_NAMES), "provider")
    from .bench import device_line, fingerprint, load_warning, model_line, spread_warning, split_providers
    from .session import check_threads
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    try:
        threads = [check_threads(int(t)) for t in args.threads.split(",")]
    except ValueError:
        raise ConfigError(f"--threads {args.threads!r} must be integers joined by commas, e.g. 1,2") from None
    if args.seconds <= 0:
        raise ConfigError(f"--seconds {args.seconds:g} must be > 0 (measuring time per row)")
    runnable, _ = split_providers(providers)
    if not runnable:
        from .errors import ProviderError
        from .bench import unavailable_line
        raise ProviderError(f"none of --provider {args.provider} can run here; {unavailable_line(providers)}")
    from .bench import unsuited_notes, unsuited_pairs
    unsuited = unsuited_pairs(runnable, precisions)
    if not args.unsuited and len(unsuited) == len(runnable) * len(precisions):
        raise ConfigError(f"--precision {args.precision} suits none of the providers that run here "
                          f"({unsuited_notes(unsuited)}); pass --unsuited to measure it anyway, or another --precision")
    fp = fingerprint()
    print(device_line(fp))
    print(model_line(args.model, precisions))
    warning = load_warning()
    if warning:
        print(warning)
    rows = run_matrix(args.model, precisions, providers, sizes, threads, args.seconds, log=log,
                      spinning=args.spinning, only_available=True, progress=True, unsuited=args.unsuited)
    for warning in (spread_warning(rows), load_warning()):
        if warning:
            print(warning)
    return fp, rows


def cmd_bench(args) -> int:
    from .bench import markdown_table
    from .outputs import check_writable, write_text_atomic
    for out in (args.json, args.markdown):          # checked before the work, written all-or-nothing
        if out:
            check_writable(Path(out).expanduser())
    fp, rows = _bench_rows(args)
    if args.json:
        write_text_atomic(Path(args.json).expanduser(),
                          json.dumps({"device": fp, "rows": [r.to_json() for r in rows]}, indent=1))
    if args.markdown:
        write_text_atomic(Path(args.markdown).expanduser(), markdown_table(rows))
    return 0


def cmd_tune(args) -> int:
    from .results import Status
    from .tune import TIE, choose, save_profile, tied
    fp, rows = _bench_rows(args)
    best = choose(rows, args.target_fps)
    if best is None:
        fastest = max((r for r in rows if r["status"] == Status.OK), key=lambda r: r["pipeline_ms"]["fps"],
                      default=None)
        got = f"{fastest['pipeline_ms']['fps']:.0f} fps at best" if fastest else "no setting ran"
        raise EdgeSegError(f"no setting reaches {args.target_fps:g} fps on this device ({got}); "
                           "lower --target-fps or --sizes")
    path = save_profile(best, args.target_fps, fp, Path(args.profile) if args.profile else None)

    def name(r):
        return f"{r['provider']} {r['precision']} {r['threads']} thread{'s' if r['threads'] != 1 else ''}"
    tie = tied(rows, args.target_fps)
    if len(tie) > 1:
        listed = "; ".join(f"{name(r)} {r['pipeline_ms']['fps']:.0f} fps at {r['size']}" for r in tie[:5])
        print(f"{len(tie)} settings meeting {args.target_fps:g} fps tie within {TIE:.0%} of the fastest (noise on "
              f"this machine): {listed}. Chose the simplest (fp32 first, then fewer threads)")
    print(f"{'chosen' if len(tie) > 1 else 'fastest'} setting meeting {args.target_fps:g} fps: {name(best)} "
          f"({best['pipeline_ms']['fps']:.0f} fps at {best['size']}); saved to {path}")
    return 0


def _flag(key: str, value) -> str:
    """How a training override was spelt on the command line (for its error message)."""
    name = "--" + key.replace("_", "-")
    if isinstance(value, bool):
        return name if value else "--no-" + name[2:]
    return f"{name} {' '.join(value) if key == 'data' else value}"


def cmd_train(args) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        from .install import pip_install
        raise EdgeSegError(f"training needs PyTorch: {pip_install('train')} (see README for the CPU build)") from None
    from .train.config import config_from_dict, load_config
    from .train.loop import require_data, train
    cfg = load_config(args.config)
    overrides = {k: v for k, v in (("data", args.data), ("epochs", args.epochs), ("batch_size", args.batch_size),
                                   ("samples_per_epoch", args.samples_per_epoch), ("fake_quant", args.fake_quant),
                                   ("seed", args.seed))
                 if v is not None}
    if overrides:               # the same checks as the config file's
        try:
            cfg = config_from_dict({**cfg.to_dict(), **overrides})
        except ConfigError as exc:
            flags = " ".join(_flag(k, v) for k, v in overrides.items())
            raise ConfigError(f"{flags}: {exc}") from None
    require_data(cfg.data)
    from .train.distributed import launch, under_torchrun
    if args.nproc < 1 or (args.nproc > 1 and under_torchrun()):
        raise ConfigError(f"--nproc {args.nproc}: give the number of processes (≥ 1) to start on this machine; "
                          "under torchrun leave it out (torchrun's --nproc_per_node sets it)")
    if args.nproc > 1:         # the processes' rank 0 prints the summary below
        launch(cfg, args.out, args.resume, args.nproc)
        return 0
    summary = train(cfg, args.out, resume=args.resume)
    if summary is None:        # a torchrun process other than rank 0: rank 0 reports
        return 0
    print(json.dumps(summary, indent=1))
    best = Path(args.out) / "best.pt"
    if not best.exists():
        raise EdgeSegError(f"training wrote no checkpoint {best}; check the log above (no epoch finished?)")
    from .install import EXPORT_COMMAND
    print(f"\nnext: {EXPORT_COMMAND} {best} --out {Path(args.out) / 'export'} "
          f"--precision fp32,fp16,int8 --val DIR --calib DIR")
    return 0


def cmd_export(argv: list[str]) -> int:
    """`edgeseg export ...`: the export toolchain with its own flags (export extra)."""
    from .install import EXPORT_COMMAND, export_main
    return export_main()(argv, prog=EXPORT_COMMAND)


def cmd_web(args) -> int:
    from .web import make_server, url_of
    server = make_server(args.root, args.model, args.host, args.port)
    print(f"edgeseg web: serving {url_of(server)} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .session import PROVIDER_NAMES
    from .variants import VARIANTS
    p = argparse.ArgumentParser(prog="edgeseg", description="On-device portrait segmentation.")
    p.add_argument("--version", action="version", version=version_text())
    p.add_argument("--debug", action="store_true", help="show tracebacks, and OpenCV's and FFmpeg's own log lines")
    p.add_argument("-v", "--verbose", action="store_true", help="debug-level log messages")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("process", help="image or video files, folders or globs -> blurred/replaced/mask/cutout output")
    sp.add_argument("input", nargs="+", help="image or video files, folders of them, or globs ('photos/*.jpg')")
    sp.add_argument("-o", "--output", required=True,
                    help="one input: an image, a video (.mp4 H.264; .webm for a cutout), or a folder (one PNG per "
                         "frame); several inputs, a folder or a glob: a folder (OUTDIR/)")
    sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_video_args(sp)
    add_model_args(sp)
    add_effect_args(sp)
    sp.set_defaults(func=cmd_process)

    sp = sub.add_parser("live", help="camera/stream/file/demo -> window, file or virtual camera")
    sp.add_argument("--source", default="0", help="camera index, video file, URL, image, or 'demo'")
    sp.add_argument("--headless", action="store_true", help="no window; print FPS")
    sp.add_argument("--max-frames", type=int, default=0)
    sp.add_argument("--output", help="also write the result to this video file (.mp4 H.264; .webm for a cutout)")
    add_video_args(sp)
    sp.add_argument("--virtual-cam", action="store_true", help="send to a virtual camera (virtualcam extra)")
    sp.add_argument("--size", help="capture size WxH (width first), e.g. 1280x720")
    sp.add_argument("--fps", type=float, help="capture frame rate to ask the camera for")
    sp.add_argument("--mirror", action="store_true")
    sp.add_argument("--retries", type=int, default=4, help="reopen a vanished camera/stream this often (backoff 0.5, 1, 2... s)")
    sp.add_argument("--budget-ms", type=float, help="hold the p90 frame time under MS by giving up video zoom, canvas "
                                                    "size, refinement, then mask-every-N (README: latency governor)")
    sp.add_argument("--zoom-video", action="store_true",
                    help="segment small people again inside a steady box, as process does on a video: better masks "
                         "for people far from the camera, up to 2.3x the CPU on such frames (README: zoom)")
    add_model_args(sp)
    add_effect_args(sp)
    sp.set_defaults(func=cmd_live)

    sp = sub.add_parser("eval", help="accuracy on images/ + masks/")
    sp.add_argument("--images", required=True, help="folder of images")
    sp.add_argument("--masks", required=True, help="folder of 0/255 masks with the images' file stems")
    sp.add_argument("--json", help="also write the summary JSON here")
    sp.add_argument("--per-image", help="write per-image scores to this CSV")
    sp.add_argument("--limit", type=int, default=0, help="score only the first N pairs (0: all)")
    add_model_args(sp)
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("info", help="print a model's inputs, outputs, metadata and variants (JSON)")
    sp.add_argument("model", nargs="?", help="an .onnx file (default: the bundled model)")
    sp.set_defaults(func=cmd_info)

    sp = sub.add_parser("doctor", help="what this machine can run: onnxruntime, providers, GPU libraries, cameras")
    sp.add_argument("--provider", help="comma-separated providers that must run (cpu, cuda, tensorrt): exit 1 "
                                       "if one cannot")
    sp.add_argument("--model", help="an .onnx model to try (default: the bundled model)")
    sp.add_argument("--json", action="store_true", help="print JSON instead of text")
    sp.set_defaults(func=cmd_doctor)

    for name, helptext in (("bench", "latency per provider, precision, size and threads"),
                           ("tune", "save the fastest setting meeting --target-fps as a profile")):
        sp = sub.add_parser(name, help=helptext)
        sp.add_argument("--model", help="an .onnx model (default: the bundled model)")
        sp.add_argument("--precision", default=",".join(VARIANTS), help="comma-separated variants")
        sp.add_argument("--provider", default=",".join(PROVIDER_NAMES),
                        help="comma-separated; those this onnxruntime lacks get one line, not rows")
        sp.add_argument("--sizes", default="640x360,1280x720,1920x1080",
                        help="comma-separated frame sizes WxH (width first)")
        sp.add_argument("--threads", default="1,2", help="comma-separated ONNX Runtime thread counts")
        sp.add_argument("--seconds", type=float, default=1.0, help="measuring time per row (after warm-up)")
        sp.add_argument("--spinning", action="store_true",
                        help="let ORT threads spin (its default; faster model-only, but starves OpenCV in a pipeline)")
        sp.add_argument("--unsuited", action="store_true",
                        help="also measure variants on providers they do not suit, e.g. fp16 on the CPU "
                             "(`edgeseg info` lists the providers each variant suits)")
        if name == "bench":
            sp.add_argument("--json", help="also write the device and all rows as JSON here")
            sp.add_argument("--markdown", help="also write the rows as a Markdown table here")
            sp.set_defaults(func=cmd_bench)
        else:
            sp.add_argument("--target-fps", type=float, default=30.0,
                            help="the pipeline frame rate to meet; among settings within 5%% of the fastest, "
                                 "the simplest wins (fp32, then fewer threads)")
            sp.add_argument("--profile", help="where to save (default: $EDGESEG_PROFILE, else "
                                              "~/.config/edgeseg/profile.json, which process/live/eval read)")
            sp.set_defaults(func=cmd_tune)

    sp = sub.add_parser("web", help="serve the browser page (web/dist) and a model on localhost")
    sp.add_argument("--model", help="the .onnx model the page runs (default: the bundled model)")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000, help="0: any free port")
    sp.add_argument("--root", help="the built page (default: web/dist)")
    sp.set_defaults(func=cmd_web)

    sp = sub.add_parser("train", help="train a model (train extra)")
    sp.add_argument("--config", help="YAML config, e.g. configs/default.yaml")
    sp.add_argument("--data", action="append", help="folder with images/ and masks/ (repeatable)")
    sp.add_argument("--out", required=True, help="run folder for checkpoints and reports")
    sp.add_argument("--epochs", type=int)
    sp.add_argument("--batch-size", type=int)
    sp.add_argument("--samples-per-epoch", type=int)
    sp.add_argument("--seed", type=int, help="the run's random seed (the config's seed otherwise); the default "
                                             "model averages two runs that differ only in it")
    sp.add_argument("--fake-quant", action=argparse.BooleanOptionalAction, default=None,
                    help="train through INT8 export's rounding (quantisation-aware fine-tuning; the config needs "
                         "freeze_bn_stats, as configs/finetune.yaml has): its int8 file then loses less")
    sp.add_argument("--resume", action="store_true", help="continue from OUT/last.pt (also with another --nproc)")
    sp.add_argument("--nproc", type=int, default=1,
                    help="train in N processes on this machine (DDP through torchrun: one GPU each, or gloo "
                         "on the CPU); the config's batch_size stays the global batch")
    sp.set_defaults(func=cmd_train)

    sp = sub.add_parser("export", add_help=False,
                        help="checkpoint -> ONNX variants, checked and gated (export extra; "
                             "`edgeseg export --help` for its flags)")
    sp.add_argument("argv", nargs=argparse.REMAINDER)
    sp.set_defaults(func=lambda args: cmd_export(args.argv))
    return p


def quiet_native_logs(debug: bool) -> None:
    """OpenCV's and FFmpeg's own log lines ([ WARN:0@…], [tcp @ …]) stay off unless --debug.

    A variable the user set (OPENCV_LOG_LEVEL, OPENCV_FFMPEG_LOGLEVEL) wins. PyAV keeps FFmpeg's log
    off by default; with --debug it forwards warnings to Python logging.
    """
    import os
    if debug:
        if importlib.util.find_spec("av") is not None:
            import av.logging
            av.logging.set_level(av.logging.WARNING)
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")      # AV_LOG_QUIET for OpenCV's FFmpeg backend
    if "OPENCV_LOG_LEVEL" not in os.environ:
        os.environ["OPENCV_LOG_LEVEL"] = "SILENT"               # for a cv2 imported later
        if "cv2" in sys.modules:
            import cv2
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def version_text() -> str:
    import platform
    from importlib.metadata import PackageNotFoundError, version
    from . import __version__
    ort = "not installed"
    for name in ("onnxruntime", "onnxruntime-gpu"):
        try:
            ort = f"{name} {version(name)}"
            break
        except PackageNotFoundError:
            pass
    return f"edgeseg {__version__} ({ort}, Python {platform.python_version()})"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["export"]:      # export parses its own flags (and --help)
        try:
            return cmd_export(argv[1:])
        except EdgeSegError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(message)s" if args.debug else "%(message)s")
    quiet_native_logs(args.debug)
    try:
        return args.func(args)
    except EdgeSegError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
