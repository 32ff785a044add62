import re,sys
def parse(p):
    msgs={}; stack=[]
    for line in open(p):
        line=line.split('//')[0].strip()
        m=re.match(r'(message|enum)\s+(\w+)\s*\{',line)
        if m:
            if not line.rstrip().endswith('{}'): stack.append(m.group(2))
            continue
        if line.startswith('oneof'): stack.append(None); continue
        if line=='}' or line.startswith('}'):
            if stack: stack.pop()
            continue
        f=re.match(r'(?:repeated\s+|optional\s+)?([\w.<>, ]+?)\s+(\w+)\s*=\s*(\d+)',line)
        e=re.match(r'(\w+)\s*=\s*(-?\d+)',line)
        name='.'.join(s for s in stack if s)
        if f and stack: msgs[(name,int(f.group(3)))]=(f.group(2),f.group(1).replace(' ',''))
        elif e and stack: msgs[(name,'enum',int(e.group(2)))]=e.group(1)
    return msgs
a=parse(sys.argv[1]); b=parse(sys.argv[2])
bad=0
for k,v in a.items():
    if k not in b: print('missing in v1:',k,v); bad+=1
    elif b[k]!=v: print('differs:',k,v,b[k]); bad+=1
print(len(a),'v1alpha2 entries,',bad,'problems')
