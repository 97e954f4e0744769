# dl4all_mm — one-command entry points. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PINS := torch==2.14.1 torchvision==0.29.1 'numpy<2' 'opencv-python<4.12' \
	mmengine==0.10.7 mmcv-lite==2.2.0 mmpretrain==1.2.0 'setuptools<81'

.PHONY: venv install install-tests demo test clean

$(VENV)/.installed: setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade 'pip<26'
	$(PY) -m pip install -q $(PINS)
	$(PY) -m pip install -q -e '.[tests]'
	touch $@

install: $(VENV)/.installed

# `make demo DEMO_ARGS=--verbose` prints mmengine's full logs.
demo: install
	$(PY) tools/run_demo.py --work-dir work_dirs/demo $(DEMO_ARGS)

test: install
	$(PY) -m pytest tests -q -p no:cacheprovider

clean:
	rm -rf work_dirs build *.egg-info
