"""What a fresh explorer server must not spend its first view on (issue 27)."""
import subprocess
import sys

from tests.browser import REPO

# Every module explorer/app.py imports before it draws a page.
APP_IMPORTS = ("explorer.bundles, explorer.capabilities, explorer.families, explorer.figures, explorer.lesson_panel, "
               "explorer.own, explorer.pages, explorer.selection, explorer.serving, explorer.state, vae_core.family")


def test_the_explorer_and_opening_a_bundle_of_each_family_do_not_import_torch_s_compiler():
    """torch._dynamo/_inductor (1.2-2 s) are for training's compiled CPU step only. They came
    with vae_core.families.gaussian.training (1.2-1.6 s of a 5-8 s first view), and with the
    loader's meta-device skeleton of a VQ-VAE (nn.Embedding's normal_ on meta: 2 s)."""
    code = (f"import {APP_IMPORTS}; import sys; from vae_core import load_bundle; "
            "[load_bundle(f'checkpoints/{name}') for name in ('mnist-conv-z16', 'mnist-two-stage', 'mnist-vq')]; "
            "print(sorted(m for m in sys.modules if m.startswith(('torch._dynamo', 'torch._inductor'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_after_the_first_view_the_later_pages_imports_start_once_in_the_background():
    """torch.optim's Adam imports torch._dynamo when built (the 2-D lab's first visit paid 2 s) and
    t-SNE needs scikit-learn: both are imported in a thread once a first view is drawn."""
    code = ("import sys; from explorer import runtime; t = runtime.warm_later_pages(0.0); t.join(); "
            "print('torch._dynamo' in sys.modules, 'sklearn.manifold' in sys.modules, runtime.warm_later_pages() is t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True"]
