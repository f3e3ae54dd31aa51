#!/usr/bin/env python3
"""Reference figures for the event logs in this folder, computed independently of sparkfn.

It reads every JSON line itself (zstd files through the `zstd` command line tool), with none
of the project's code, and prints one Markdown table row per application attempt:

- executors: SparkListenerExecutorAdded events, local mode's in-process executor `driver` left
  out (it is the driver itself);
- executor core-seconds: sum over executors of `Executor Info.Total Cores` x (ExecutorRemoved,
  else ApplicationEnd, else the newest time any complete line carries - ExecutorAdded);
- driver core-seconds: (ApplicationEnd, else that newest time - ApplicationStart) x the local
  executor's Total Cores in local mode (spark.driver.cores, else 1, otherwise);
- newest time: the largest Timestamp / Submission Time / Completion Time / Launch Time /
  Finish Time / Getting Result Time / time (epoch ms) anywhere in any complete line.

Attempts are told apart by ApplicationStart's App ID and App Attempt ID, not by file names.

Usage: python3 core-seconds.py   (from any folder; needs python3 >= 3.8 and zstd)
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TIME_KEYS = {'Timestamp', 'Submission Time', 'Completion Time', 'Launch Time', 'Finish Time', 'Getting Result Time', 'time'}
EPOCH_MS_MIN = 10 ** 11  # 1973: anything smaller is an unset time (0) or a duration


def read(path):
    if path.endswith('.zstd'):
        return subprocess.run(['zstd', '-dc', path], check=True, capture_output=True).stdout
    with open(path, 'rb') as f:
        return f.read()


def times(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in TIME_KEYS and isinstance(inner, int) and inner >= EPOCH_MS_MIN:
                yield inner
            yield from times(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from times(inner)


def events(paths):
    for path in paths:
        for line in read(path).split(b'\n'):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError:
                continue  # a cut-off last line


def figures(paths):
    start = end = app_id = attempt = None
    newest = 0
    added, removed, cores = {}, {}, {}
    props = {}
    for event in events(paths):
        newest = max([newest, *times(event)])
        kind = event.get('Event')
        if kind == 'SparkListenerApplicationStart':
            start, app_id, attempt = event['Timestamp'], event.get('App ID'), event.get('App Attempt ID')
        elif kind == 'SparkListenerApplicationEnd':
            end = event['Timestamp']
        elif kind == 'SparkListenerEnvironmentUpdate':
            props = dict(event.get('Spark Properties') or {})
        elif kind == 'SparkListenerExecutorAdded':
            added.setdefault(event['Executor ID'], event['Timestamp'])
            cores.setdefault(event['Executor ID'], event['Executor Info']['Total Cores'])
        elif kind == 'SparkListenerExecutorRemoved':
            removed.setdefault(event['Executor ID'], event['Timestamp'])
    stop = end if end is not None else newest
    local_cores = cores.pop('driver', None)
    added.pop('driver', None)
    executor_core_ms = sum(cores[e] * (removed.get(e, stop) - added[e]) for e in added)
    driver_cores = local_cores if local_cores is not None else int(props.get('spark.driver.cores', 1))
    return {
        'app': app_id, 'attempt': attempt, 'start': start, 'end': end, 'newest': newest,
        'executors': len(added), 'executor_core_seconds': executor_core_ms / 1000,
        'driver_seconds': (stop - start) / 1000, 'driver_cores': driver_cores,
        'driver_core_seconds': driver_cores * (stop - start) / 1000,
    }


def logs():
    """Each log in this folder: a file, or a rolling log's folder (events_<n>_… by n)."""
    for name in sorted(os.listdir(HERE)):
        path = os.path.join(HERE, name)
        if name.startswith('eventlog_v2_') and os.path.isdir(path):
            parts = [p for p in os.listdir(path) if p.startswith('events_')]
            parts.sort(key=lambda p: int(p.split('_')[1]))
            yield name, [os.path.join(path, p) for p in parts]
        elif os.path.isfile(path) and not name.endswith(('.py', '.md')):
            yield name, [path]


def main():
    print('| log | app | attempt | executors | executor core-seconds | driver cores | driver core-seconds | ApplicationEnd | newest time |')
    print('|---|---|---|---|---|---|---|---|---|')
    for name, paths in logs():
        f = figures(paths)
        print(f"| {name} | {f['app']} | {f['attempt'] or '-'} | {f['executors']} | {f['executor_core_seconds']:.3f} | {f['driver_cores']} "
              f"| {f['driver_core_seconds']:.3f} | {f['end'] if f['end'] is not None else 'none'} | {f['newest']} |")
    return 0


if __name__ == '__main__':
    sys.exit(main())
