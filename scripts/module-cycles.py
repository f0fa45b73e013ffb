#!/usr/bin/env python3
"""Builds the module graph of src/ from `crate::` paths (use lines and inline paths, tests
excluded) and prints cycles: between top-level modules (layers), and between files that are not
each other's ancestors. Exits 1 when there is one. Usage: scripts/module-cycles.py [src] [-v]"""
import os, re, sys
args = [a for a in sys.argv[1:] if a != '-v']
root = args[0] if args else 'src'
mods = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'): continue
        p = os.path.join(d, f); rel = os.path.relpath(p, root)[:-3].split(os.sep)
        if rel[-1] in ('mod', 'lib', 'main'): rel = rel[:-1]
        mods[p] = tuple(rel)
known = set(mods.values())
def resolve(path):
    best = ()
    for i in range(1, len(path) + 1):
        if tuple(path[:i]) in known: best = tuple(path[:i])
    return best
def strip_tests(s):
    i = s.find('#[cfg(test)]')
    return s if i < 0 else s[:i]
def expand(body):
    # crate::a::{b, c::{d}} -> [[a,b],[a,c,d]]
    out = []
    def rec(prefix, text):
        text = text.strip()
        m = re.match(r'^([\w:]*?)(::)?\{(.*)\}$', text, re.S)
        if m:
            pre = [x for x in m.group(1).split('::') if x]
            depth, cur, parts = 0, '', []
            for ch in m.group(3):
                if ch == '{': depth += 1
                if ch == '}': depth -= 1
                if ch == ',' and depth == 0: parts.append(cur); cur = ''
                else: cur += ch
            parts.append(cur)
            for part in parts:
                if part.strip(): rec(prefix + pre, part)
        else:
            out.append(prefix + [x for x in re.split(r'\s+as\s+', text)[0].split('::') if x and x != 'self'])
    rec([], body)
    return out
edges = set()
for p, m in mods.items():
    s = strip_tests(open(p).read())
    s = re.sub(r'//[^\n]*', '', s)
    paths = []
    for u in re.finditer(r'use\s+crate::(.*?);', s, re.S): paths += expand(u.group(1))
    s2 = re.sub(r'use\s+crate::.*?;', '', s, flags=re.S)
    for u in re.finditer(r'crate::((?:\w+::)*\w+)', s2): paths.append(u.group(1).split('::'))
    for path in paths:
        t = resolve(path)
        if t and t != m: edges.add((m, t))
def sccs(nodes, es):
    adj = {n: set() for n in nodes}
    for a, b in es: adj[a].add(b)
    index, low, st, on, res, c = {}, {}, [], set(), [], [0]
    def strong(v):
        index[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
        for w in adj[v]:
            if w not in index: strong(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = st.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: res.append(comp)
    sys.setrecursionlimit(10000)
    for n in nodes:
        if n not in index: strong(n)
    return res
name = lambda t: '::'.join(t) or 'crate'
# Layers: top-level modules.
top = {(a[0], b[0]) for a, b in edges if a and b and a[0] != b[0]}
layer_cycles = sccs({x for e in top for x in e}, top)
# Files: ignore edges between a module and its own ancestors/descendants.
rel = lambda a, b: a[:len(b)] == b or b[:len(a)] == a
file_edges = {(a, b) for a, b in edges if not rel(a, b)}
file_cycles = sccs(set(known), file_edges)
for comp in layer_cycles: print('layer cycle:', ' <-> '.join(sorted(c for c in comp)))
for comp in file_cycles: print('file cycle:', ' <-> '.join(sorted(name(c) for c in comp)))
def show(comp, es):
    cs = set(comp)
    for a, b in sorted(es):
        if a in cs and b in cs: print('   ', name(a) if isinstance(a, tuple) else a, '->', name(b) if isinstance(b, tuple) else b)
if '-v' in sys.argv:
    for comp in layer_cycles: show(comp, top)
    for comp in file_cycles: show(comp, file_edges)
print(f'{len(known)} modules, {len(edges)} edges, {len(layer_cycles)} layer cycles, {len(file_cycles)} file cycles')
sys.exit(1 if layer_cycles or file_cycles else 0)
