"""Video through PyAV: H.264 out, audio kept, timing and frame count kept, cut-outs with alpha, truncation."""
from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from edgeseg.cli import main
from edgeseg.sources import upright
from tests.conftest import shared_or_skip


def probe(path):
    """What an ffprobe user would look at: codecs, pixel format, decoded frames and their times."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        info = {"video": v.codec_context.name, "pix_fmt": v.codec_context.pix_fmt,
                "audio": [a.codec_context.name for a in c.streams.audio], "rate": v.average_rate,
                "size": (v.codec_context.width, v.codec_context.height), "alpha": v.metadata.get("alpha_mode")}
        info["times"] = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    info["frames"] = len(info["times"])
    return info


@pytest.fixture(scope="module")
def talk_clip(tmp_path_factory):
    """The first ~0.8 s of talk_1.mp4 (video and AAC audio), remuxed without re-encoding, moov first."""
    src = shared_or_skip("videos", "talk_1.mp4")
    out = tmp_path_factory.mktemp("talk") / "talk_clip.mp4"
    with av.open(str(src)) as inp, av.open(str(out), "w", options={"movflags": "faststart"}) as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in (inp.streams.video[0], inp.streams.audio[0])}
        for pkt in inp.demux(inp.streams.video[0], inp.streams.audio[0]):
            if pkt.dts is None:
                continue
            if pkt.pts * pkt.time_base > 0.8:
                break
            pkt.stream = streams[pkt.stream.index]
            dst.mux(pkt)
    return out


@pytest.mark.slow
def test_talk_1_becomes_h264_yuv420p_with_audio_and_the_same_frames_and_fps(tmp_path):
    src = shared_or_skip("videos", "talk_1.mp4")
    out = tmp_path / "out.mp4"
    assert main(["process", str(src), "-o", str(out), "-q"]) == 0
    a, b = probe(src), probe(out)
    assert (b["video"], b["pix_fmt"], b["audio"]) == ("h264", "yuv420p", ["aac"])
    assert b["frames"] == a["frames"] == 135
    assert np.allclose(b["times"], a["times"], atol=1e-3)          # variable frame timing kept frame by frame
    assert float(b["rate"]) == pytest.approx(float(a["rate"]), rel=0.01)


def test_audio_is_copied_into_mp4_and_re_encoded_only_where_the_container_needs_it(talk_clip, tmp_path):
    assert main(["process", str(talk_clip), "-o", str(tmp_path / "a.mp4"), "-q", "--codec", "vp9"]) == 0
    assert main(["process", str(talk_clip), "-o", str(tmp_path / "a.webm"), "-q"]) == 0
    assert probe(tmp_path / "a.mp4")["audio"] == ["aac"]            # mp4 holds AAC: copied
    webm = probe(tmp_path / "a.webm")
    assert webm["video"] == "vp9" and webm["audio"] == ["opus"]     # WebM cannot: re-encoded
    assert webm["frames"] == probe(talk_clip)["frames"]


def test_copied_audio_is_the_inputs_packets_unchanged(talk_clip, tmp_path):
    out = tmp_path / "a.mp4"
    assert main(["process", str(talk_clip), "-o", str(out), "-q", "--effect", "none"]) == 0

    def audio_bytes(path):
        with av.open(str(path)) as c:
            return b"".join(bytes(p) for p in c.demux(c.streams.audio[0]) if p.size)
    assert audio_bytes(out) == audio_bytes(talk_clip)


def test_a_cutout_video_is_vp9_with_alpha_in_webm(talk_clip, tmp_path):
    out = tmp_path / "cut.webm"
    assert main(["process", str(talk_clip), "-o", str(out), "-q", "--effect", "cutout"]) == 0
    info = probe(out)
    assert info["video"] == "vp9" and info["alpha"] == "1" and info["frames"] == probe(talk_clip)["frames"]
    with av.open(str(out)) as c:                       # libvpx decodes the alpha plane: the corners are clear
        dec = av.codec.CodecContext.create("libvpx-vp9", "r")
        frame = next(f for p in c.demux(video=0) for f in dec.decode(p))
        assert frame.format.name == "yuva420p"
        rgba = frame.to_ndarray(format="rgba")
        assert rgba[:8, :8, 3].max() <= 2 and rgba[..., 3].max() >= 250     # VP9's alpha is lossy by a level or two


def test_a_cutout_into_mp4_is_refused_with_the_formats_that_keep_alpha(talk_clip, tmp_path, capsys):
    assert main(["process", str(talk_clip), "-o", str(tmp_path / "c.mp4"), "-q", "--effect", "cutout"]) == 2
    assert ".webm" in capsys.readouterr().err and not (tmp_path / "c.mp4").exists()


@pytest.mark.parametrize("flags,words", [(["--codec", "mpeg4", "--crf", "20"], "takes no --crf"),
                                         (["--crf", "99"], "between 0"), ([], "a video output is one of")])
def test_codec_options_that_do_not_fit_are_refused_before_work(talk_clip, tmp_path, capsys, flags, words):
    out = tmp_path / ("o.mp4" if flags else "o.xyz")
    assert main(["process", str(talk_clip), "-o", str(out), "-q", *flags]) == 2
    assert words in capsys.readouterr().err and not out.exists()


def test_a_lower_crf_gives_a_larger_file(talk_clip, tmp_path):
    sizes = []
    for crf in ("35", "18"):
        out = tmp_path / f"c{crf}.mp4"
        assert main(["process", str(talk_clip), "-o", str(out), "-q", "--crf", crf, "--effect", "none"]) == 0
        sizes.append(out.stat().st_size)
    assert sizes[1] > sizes[0]


def test_an_odd_sized_video_is_padded_to_even_for_yuv420p(tmp_path):
    src = tmp_path / "odd.mkv"
    with av.open(str(src), "w") as c:
        st = c.add_stream("ffv1", rate=Fraction(25))
        st.width, st.height, st.pix_fmt = 101, 75, "yuv420p"
        for i in range(6):
            f = av.VideoFrame.from_ndarray(np.full((75, 101, 3), 40 * i, np.uint8), format="bgr24")
            f.pts = i
            c.mux(st.encode(f))
        c.mux(st.encode(None))
    out = tmp_path / "odd.mp4"
    assert main(["process", str(src), "-o", str(out), "-q", "--effect", "none"]) == 0
    info = probe(out)
    assert info["size"] == (102, 76) and info["frames"] == 6


@pytest.mark.parametrize("rotation,corner", [(0, (0, 0)), (-90, (0, -1)), (90, (-1, 0)), (180, (-1, -1))])
def test_a_display_rotation_is_applied_so_frames_are_upright(rotation, corner):
    frame = np.zeros((4, 6, 3), np.uint8)
    frame[0, 0] = 255                                   # top-left marker
    up = upright(frame, rotation)
    assert up[corner].max() == 255 and up.shape[:2] == ((4, 6) if rotation in (0, 180) else (6, 4))


def test_a_truncated_video_ends_with_a_warning_and_exit_code_3(talk_clip, tmp_path, caplog):
    data = talk_clip.read_bytes()
    cut = tmp_path / "half.mp4"
    cut.write_bytes(data[: len(data) // 2])
    expected = probe(talk_clip)["frames"]
    out = tmp_path / "o.mp4"
    assert main(["process", str(cut), "-o", str(out), "-q"]) == 3
    got = probe(out)["frames"]
    assert 0 < got < expected and f"{got} of {expected} frames read" in caplog.text


def test_a_mask_of_an_image_is_a_single_channel_png(tmp_path):
    img = tmp_path / "in.png"
    cv2.imwrite(str(img), np.full((64, 48, 3), 128, np.uint8))
    out = tmp_path / "m.png"
    assert main(["process", str(img), "-o", str(out), "-q", "--effect", "mask"]) == 0
    m = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert m.ndim == 2 and m.dtype == np.uint8 and m.shape == (64, 48)
