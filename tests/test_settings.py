"""Run-wide settings: quick mode and a quiet TensorFlow import."""

import subprocess
import sys
import textwrap

from musicstyle import settings


def test_quick_mode_reads_the_environment(monkeypatch):
    for value, quick in (("1", True), ("yes", True), ("0", False), ("", False)):
        monkeypatch.setenv(settings.QUICK_ENV, value)
        assert settings.quick_mode() is quick


def test_a_noisy_native_import_is_silenced_but_errors_and_later_output_are_not(tmp_path):
    (tmp_path / "noisy.py").write_text("import os\nos.write(2, b'probe chatter\\n')\nVALUE = 42\n")
    (tmp_path / "broken.py").write_text("raise ImportError('really broken')\n")
    script = textwrap.dedent("""
        import os, sys
        from musicstyle.settings import QuietImportFinder
        sys.meta_path.insert(0, QuietImportFinder("noisy"))
        sys.meta_path.insert(0, QuietImportFinder("broken"))
        import noisy
        os.write(2, b'after import\\n')
        print(noisy.VALUE, any(isinstance(f, QuietImportFinder) and f.name == "noisy" for f in sys.meta_path))
        try:
            import broken
        except ImportError as err:
            print("error:", err)
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["42 False", "error: really broken"]
    assert out.stderr == "after import\n"


def test_tensorflow_imports_without_native_chatter(tmp_path):
    out = subprocess.run([sys.executable, "-c", "import musicstyle, keras, tensorflow as tf; print(int(tf.constant(2) * 3))"],
                         cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout == "6\n" and "cuda" not in out.stderr and "absl" not in out.stderr and "oneDNN" not in out.stderr
