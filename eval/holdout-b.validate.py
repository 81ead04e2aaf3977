import json, sys, collections, itertools
p = sys.argv[1] if len(sys.argv) > 1 else '/work/wt/holdout-b.jsonl'
A = {'lang': ['fr','en'],
     'category': ['application','server','network','database','security','access','hardware','email','storage','other'],
     'priority': ['urgent','high','medium','low'], 'sentiment': ['positive','neutral','negative'], 'urgency': ['high','medium','low']}
KEYS = ['text','lang','category','priority','sentiment','urgency']
seen = {}; rows = []; errors = 0
for i, line in enumerate(open(p, encoding='utf-8'), 1):
    try: d = json.loads(line)
    except Exception as e: print(f'line {i}: bad JSON: {e}'); errors += 1; continue
    if list(d.keys()) != KEYS: print(f'line {i}: keys {list(d.keys())}'); errors += 1
    if not isinstance(d.get('text'), str) or not d['text'].strip(): print(f'line {i}: empty text'); errors += 1
    for k, allowed in A.items():
        if d.get(k) not in allowed: print(f'line {i}: {k}={d.get(k)!r} not allowed'); errors += 1
    key = ' '.join(d.get('text','').lower().split())
    if key in seen: print(f'line {i}: duplicate of line {seen[key]}'); errors += 1
    seen[key] = i; rows.append(d)
print(f'{len(rows)} tickets, {errors} errors')
for k in A:
    c = collections.Counter(r[k] for r in rows)
    print(f'{k:9}', ', '.join(f'{v}={c[v]}' for v in A[k]))
combo = collections.Counter((r['category'], r['priority'], r['sentiment']) for r in rows)
missing = [c for c in itertools.product(A['category'], A['priority'], A['sentiment']) if c not in combo]
print('category x priority x sentiment combos covered:', 120 - len(missing), '/ 120', 'missing:', missing)
print('category x priority:')
for c in A['category']:
    print(f'  {c:12}', ' '.join(f'{p}={sum(v for (cc,pp,_),v in combo.items() if cc==c and pp==p)}' for p in A['priority']),
          '| fr=%d en=%d' % (sum(1 for r in rows if r['category']==c and r['lang']=='fr'), sum(1 for r in rows if r['category']==c and r['lang']=='en')))
pu = collections.Counter((r['priority'], r['urgency']) for r in rows)
print('priority x urgency:', dict(sorted(pu.items())))
sys.exit(1 if errors else 0)
