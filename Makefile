.PHONY: help demo test lint bench sample-logs docs

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

demo:  ## install and ingest the sample logs into hawatch-demo.duckdb
	python3 -m pip install -e . && hawatch demo

test:  ## install the test extras and run lint and all tests
	python3 -m pip install -e '.[test]' && ruff check . && python3 -m pytest

lint:  ## ruff
	ruff check .

bench:  ## run the benchmarks (prints figures and baselines)
	python3 bench/ingest_bench.py

sample-logs:  ## regenerate sample_logs/ byte for byte
	rm -rf sample_logs && hawatch simulate --seed 7 --pairs 8 --days 3 --out sample_logs

docs:  ## regenerate docs/cli.md from the CLI's --help
	python3 -m hawatch.docs
