"""Prototype of the Cache AI table layouts on the MNIST MLP's /3/Gemm at 10x (README "Grouped tables").

The soft-key recipe of SoftKeyFineTune re-written in PyTorch (hard tree keys forward, soft sigmoid tree
backward, 12 soft-key + 6 fixed-key epochs of Adam on the 60 000 training images, distillation +
cross-entropy) with a simpler start (median thresholds, highest-variance dimensions) and an fp32 rest,
to compare budget splits before building one in Java. Not part of the product or its tests; the
README's "prototype" rows are these commands (needs tools/mnist/fetch-train.sh first, and torch + onnx,
tools/mnist/requirements.txt):

  python3 tools/lut/lut_budget_prototype.py --mode base --G 1 --C 11
  python3 tools/lut/lut_budget_prototype.py --mode group --G 2 --C 10
  python3 tools/lut/lut_budget_prototype.py --mode group --G 4 --C 9 [--seed 2] [--perm 0] [--kdrop 0.1]
  python3 tools/lut/lut_budget_prototype.py --mode group --G 8 --C 7
  python3 tools/lut/lut_budget_prototype.py --mode lowrank --G 1 --C 23 --r 32
  python3 tools/lut/lut_budget_prototype.py --mode bits2 --G 1 --C 20 --bits 2


What else was tried against the overfitting (README "What else was tried"; all --mode group --G 4 --C 9
unless said):

  ... --compact 1 --G 8 --C 9 | --G 16 --C 8   (more codebooks in the bytes compact trees would free)
  ... --aug 2 --augp 0.5 | --noise 0.3 | --anneal 6 | --frozen 1 | --dpc 2 | --dpc 1
  ... --mix 0.5 | --mix 1.0 --epochs 20 | --mixstatic 60000 [--epochs 8 --ft 4]
  ... --mix 0.5 --dw 1.0 | --mix 0.5 --dw 0.9 --tauD 4
  ... --probe 0.1 | --probe 0.3 | --probe 0.3 --mix 0.5 | --probe 1.0 --mix 0.5
  ... --mixstatic 60000 --hint 0.1 | --hint 1.0 | --logitmse 1 | --logitmse 3 | --hint 0.1 --logitmse 1   (all worse)
  ... --mixstatic 60000 --l2sp 0.03 | 0.003 | 0.001 | 0.0003 [--seed 2] | 0.0001   (0.0003: +0.1..0.26 pt, 2 seeds)
  ... --mixstatic 60000 --ema 0.999 --emaft 1 | --margin 0.3 [--marginw 0.1] | --pixnoise 0.1 [--pixclamp 1] | --pixdrop 0.1
  ... --mixstatic 60000 --depth 3 --C 18 | --depth 2 --C 36 [--seed 2] | --depth 1 --C 72   (shallower trees, more of
      them, same table bits: K = 2^depth leaves, 2^depth - 1 thresholds, depth dims per tree)
  ... --mixstatic 60000 --depth 1 --C 72 --seed 2 | --depth 1 --G 2 --C 84 | --depth 1 --G 8 --C 63 [--seed 2]
  ... --mixstatic 60000 --fold 1 --depth 2 --C 44 [--seed 2] [--l2sp 0.0003] | --depth 2 --C 36 | --depth 3 --C 19
      | --depth 1 --G 8 --C 94 | --depth 2 --G 8 --C 34   (key 0's row folded into the bias and not stored:
      K - 1 rows per codebook, so more codebooks in the same bytes; symmetric 4-bit per column)

Each prints a RESULT line: layer bytes and ratio, train and test (accuracy, agreement) in float and
with 4-bit (or 2-bit) tables.
"""
import os, sys, gzip, time, math, argparse
import numpy as np, torch, onnx
from onnx import numpy_helper
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--mode', default='base')  # base | group | lowrank | bits2
p.add_argument('--G', type=int, default=1)
p.add_argument('--C', type=int, default=11)   # codebooks per group (or total)
p.add_argument('--r', type=int, default=0)
p.add_argument('--bits', type=int, default=4)
p.add_argument('--epochs', type=int, default=12)
p.add_argument('--ft', type=int, default=6)
p.add_argument('--batch', type=int, default=64)
p.add_argument('--lr', type=float, default=3e-3)
p.add_argument('--seed', type=int, default=1)
p.add_argument('--n', type=int, default=60000)
p.add_argument('--kdrop', type=float, default=0.0)
p.add_argument('--perm', type=int, default=1)
# regularisers tried against the overfitting (train 99.5 %, test 97.6 %), README "What else was tried"
p.add_argument('--aug', type=int, default=0)        # random shift radius (px) of training rows, teacher re-run
p.add_argument('--augp', type=float, default=1.0)   # share of rows shifted
p.add_argument('--mix', type=float, default=0.0)    # share of each batch replaced by mixup rows (Beta(.4,.4)), teacher re-run
p.add_argument('--mixstatic', type=int, default=0)  # extra mixed rows appended once (lambda uniform 0.5..1), distillation only
p.add_argument('--noise', type=float, default=0.0)  # Gaussian noise on the tree inputs while training, in feature std units
p.add_argument('--anneal', type=int, default=0)     # first epochs with a soft forward, temperature 1.0 -> 0.05 std
p.add_argument('--probe', type=float, default=0.0)  # 2-probe blend: also the key across the closest threshold, weight sigmoid(-|margin|/probe)
p.add_argument('--frozen', type=int, default=0)     # 1: the Gemm before the tables is not trained
p.add_argument('--dpc', type=int, default=0)        # distinct dimensions per tree (default depth; 2 or 1: levels share them)
p.add_argument('--depth', type=int, default=4)      # tree depth L: K = 2^L leaves, 2^L - 1 thresholds, L dims per tree
p.add_argument('--dw', type=float, default=0.5)     # distillation weight (1 - it: cross-entropy)
p.add_argument('--tauD', type=float, default=2.0)   # distillation temperature
p.add_argument('--tauk', type=float, default=1.0)   # soft-tree temperature multiplier
p.add_argument('--wd', type=float, default=0.0)     # AdamW weight decay
p.add_argument('--hint', type=float, default=0.0)    # B: + B*mean((y3 - y3_teacher)^2)/var(y3_teacher) at the table layer's pre-ReLU output
p.add_argument('--logitmse', type=float, default=0.0)  # s: distil by s*0.05*mean_k (z-t)^2 per row instead of tau^2*KL (s=1: same size at the start)
p.add_argument('--l2sp', type=float, default=0.0)   # L: + L*sum_p |p - p_fp32|^2 over W1u, b1u, W5p, b5p (plain L2-SP sum, alpha/2 = L)
p.add_argument('--ema', type=float, default=0.0)    # EMA decay per step of all parameters (both phases); RESULT also with EMA weights
p.add_argument('--emaft', type=int, default=0)      # fixed-key epochs re-fitting tables/rest after swapping in the EMA weights
p.add_argument('--margin', type=float, default=0.0) # hinge relu(margin - |V - t| / fstd) on the hard path's tree inputs (soft phase)
p.add_argument('--marginw', type=float, default=0.1)  # its weight
p.add_argument('--pixnoise', type=float, default=0.0)  # Gaussian pixel noise (std, [0,1] units) on training rows, teacher re-run
p.add_argument('--pixclamp', type=int, default=0)   # 1: clamp noisy pixels to [0,1] (biased: +0.04 mean on the background at 0.1)
p.add_argument('--pixdrop', type=float, default=0.0)   # random pixel dropout (share zeroed) on training rows, teacher re-run
p.add_argument('--compact', type=int, default=0)    # 1: count trees as u8 dims + fp16 thresholds, scale/bias fp16
p.add_argument('--fold', type=int, default=0)   # 1: key 0's row is not stored (zero), its value folded into the bias: K-1 rows per codebook
a = p.parse_args()
torch.manual_seed(a.seed); np.random.seed(a.seed)
torch.set_num_threads(1)
W = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '')
def idx(path):
    raw = gzip.open(path).read() if path.endswith('.gz') else open(path, 'rb').read()
    nd = raw[3]; dims = [int.from_bytes(raw[4+4*i:8+4*i], 'big') for i in range(nd)]
    return np.frombuffer(raw, np.uint8, offset=4+4*nd).reshape(dims)
Xtr = torch.tensor(idx(W+'tools/mnist/train-data/train-images-idx3-ubyte')[:a.n].reshape(-1, 784) / 255., dtype=torch.float32)
Ytr = torch.tensor(idx(W+'tools/mnist/train-data/train-labels-idx1-ubyte')[:a.n].astype(np.int64))
Xte = torch.tensor(idx(W+'tools/mnist/data/t10k-images-idx3-ubyte.gz').reshape(-1, 784) / 255., dtype=torch.float32)
Yte = torch.tensor(idx(W+'tools/mnist/data/t10k-labels-idx1-ubyte.gz').astype(np.int64))
m = onnx.load(W+'server/src/main/resources/io/cacheai/models/mnist-mlp/1/model.onnx')
init = {t.name: torch.tensor(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
ws = sorted([(k, v.shape) for k, v in init.items()])
gem = [n for n in m.graph.node if n.op_type == 'Gemm']
def wb(n):
    w = init[n.input[1]]; b = init[n.input[2]]
    tb = [at.i for at in n.attribute if at.name == 'transB']
    if not tb or tb[0] == 0: w = w.t()
    return w.float().contiguous(), b.float()
(W1, b1), (W3, b3), (W5, b5) = [wb(n) for n in gem]
# check input normalization
def fp32(x):
    return F.relu(F.relu(x @ W1.t() + b1) @ W3.t() + b3) @ W5.t() + b5
acc = (fp32(Xte).argmax(1) == Yte).float().mean().item()
print('fp32 acc', acc, W1.shape, W3.shape, W5.shape, flush=True)
NORIG = Xtr.shape[0]  # the training images; mixed rows (if any) come after them
if a.mixstatic > 0:
    gm = torch.Generator().manual_seed(a.seed + 7)
    ii = torch.randint(0, Xtr.shape[0], (a.mixstatic,), generator=gm); jj = torch.randint(0, Xtr.shape[0], (a.mixstatic,), generator=gm)
    lm = 0.5 + 0.5 * torch.rand(a.mixstatic, 1, generator=gm)
    Xmix = lm * Xtr[ii] + (1 - lm) * Xtr[jj]
    Xtr = torch.cat([Xtr, Xmix]); Ytr = torch.cat([Ytr, torch.full((a.mixstatic,), -100, dtype=torch.long)])
T_tr = fp32(Xtr)
teach3 = lambda x: F.relu(x @ W1.t() + b1) @ W3.t() + b3  # the fp32 model's /3/Gemm output (--hint)
if a.hint > 0: Y3T = teach3(Xtr); Y3VAR = Y3T.var().item()
T_te = fp32(Xte)
H1 = F.relu(Xtr[:10000] @ W1.t() + b1)
Y3 = H1 @ W3.t() + b3
D, M = 256, 128
G = a.G
Mg = M // G if a.mode != 'lowrank' else a.r
C = a.C  # per group
DL = a.depth; K = 2 ** DL; NN = K - 1  # tree depth, leaves, thresholds per tree
if a.dpc == 0: a.dpc = DL
# ---- init: per group g, codebook c reads sub-vector c of width w over the full 256 input; different groups use shifted partitions
w = math.ceil(D / C)
relev = H1.var(0) * (W3 ** 2).sum(0)  # importance of each input dim
dims = torch.zeros(G, C, DL, dtype=torch.long)
rng = np.random.RandomState(a.seed)
for g in range(G):
    perm = torch.tensor(rng.permutation(D)) if (g > 0 and a.perm) else torch.arange(D)
    for c in range(C):
        sub = perm[(c * w + torch.arange(w)) % D]
        top = sub[relev[sub].argsort(descending=True)[:a.dpc]]
        dims[g, c] = top[torch.arange(DL) * len(top) // DL]
U_dims = dims.flatten().unique()
# thresholds by median per node
def walk(A, dims_, thr):  # A [B,D] post-relu; returns keys [B,G,C]
    B = A.shape[0]
    node = torch.zeros(B, G, C, dtype=torch.long)
    for l in range(DL):
        v = torch.gather(A.unsqueeze(1).unsqueeze(1).expand(B, G, C, D), 3, dims_[:, :, l].reshape(1, G, C, 1).expand(B, G, C, 1)).squeeze(3)
        t = torch.gather(thr.unsqueeze(0).expand(B, G, C, NN), 3, node.unsqueeze(3)).squeeze(3)
        node = 2 * node + 1 + (v > t).long()
    return node - NN
thr = torch.zeros(G, C, NN)
B = H1.shape[0]
node = torch.zeros(B, G, C, dtype=torch.long)
for l in range(DL):
    v = torch.stack([H1[:, dims[g, :, l]] for g in range(G)], 1)  # B,G,C
    for g in range(G):
        for c in range(C):
            for nd in range(2 ** l - 1, 2 ** (l + 1) - 1):
                sel = node[:, g, c] == nd
                vals = v[sel, g, c]
                thr[g, c, nd] = vals.median() if vals.numel() > 0 else 0.
    t = torch.gather(thr.unsqueeze(0).expand(B, G, C, NN), 3, node.unsqueeze(3)).squeeze(3)
    node = 2 * node + 1 + (v > t).long()
keys = node - NN
# targets for tables
if a.mode == 'lowrank':
    mu = Y3.mean(0)
    Uc, S, Vh = torch.linalg.svd(Y3 - mu, full_matrices=False)
    P = Vh[:a.r].t().contiguous()  # M x r
    tgt = (Y3 - mu) @ P  # B x r
    Wlr = P.clone()  # r->M : out = z @ P.t() + mu
    blr = mu.clone()
else:
    tgt = Y3
def ridge_tables(keys, tgt, lam=1.0):
    Bn = keys.shape[0]
    Ts = []
    for g in range(G):
        X = torch.zeros(Bn, C * K)
        X.scatter_(1, keys[:, g, :] + K * torch.arange(C), 1.)
        cols = tgt if a.mode == 'lowrank' else tgt[:, g * Mg:(g + 1) * Mg]
        mu_ = cols.mean(0)
        Xc = X
        A = Xc.t() @ Xc + lam * torch.eye(C * K)
        sol = torch.linalg.solve(A.double(), (Xc.t() @ cols).double()).float()
        Ts.append(sol.reshape(C, K, -1))
    return torch.stack(Ts)  # G,C,K,Mg
Tab = ridge_tables(keys, tgt)
TB0 = torch.zeros(M)
if a.fold:  # shift every codebook so its key-0 row is zero; the shifts sum into the bias
    TB0 = Tab[:, :, 0, :].sum(1).reshape(M)
    Tab = Tab - Tab[:, :, :1, :]
FM = torch.ones(1, 1, K, 1)
if a.fold: FM[0, 0, 0, 0] = 0.
# ---- parameters
rows = U_dims
W1u = W1[rows].clone().requires_grad_(True)
b1u = b1[rows].clone().requires_grad_(True)
pos = torch.full((D,), -1, dtype=torch.long); pos[rows] = torch.arange(len(rows))
dimsU = pos[dims]  # G,C,L index into U rows
thr = thr.clone().requires_grad_(True)
Tab = Tab.clone().requires_grad_(True)
tb = TB0.clone().requires_grad_(True)  # table bias
W5p = W5.clone().requires_grad_(True); b5p = b5.clone().requires_grad_(True)
params = [W1u, b1u, thr, Tab, tb, W5p, b5p]
SP0 = [(q, q.detach().clone()) for q in (W1u, b1u, W5p, b5p)]  # --l2sp anchors
if a.mode == 'lowrank':
    Wlr.requires_grad_(True); blr.requires_grad_(True); params += [Wlr, blr]
with torch.no_grad():
    A0 = F.relu(Xtr[:10000] @ W1u.t() + b1u)
    tau = torch.stack([A0[:, dimsU[:, :, l]].std(0) for l in range(DL)], -1) * 0.1 * a.tauk  # G,C,L
    fstd = torch.stack([A0[:, dimsU[:, :, l]].std(0) for l in range(DL)], -1)
# path structure
leaf_nodes = torch.zeros(K, DL, dtype=torch.long); leaf_dir = torch.zeros(K, DL)
for leaf in range(K):
    nd = 0
    for l in range(DL):
        bit = (leaf >> (DL - 1 - l)) & 1
        leaf_nodes[leaf, l] = nd; leaf_dir[leaf, l] = bit
        nd = 2 * nd + 1 + bit
node_level = torch.tensor([int(math.log2(n + 1)) for n in range(NN)])

def forward(x, soft=True, Tq=None):
    z = x @ W1u.t() + b1u
    A = F.relu(z)
    Bn = x.shape[0]
    V = A[:, dimsU]  # B,G,C,4
    if soft and a.noise > 0 and torch.is_grad_enabled():
        V = V + torch.randn_like(V) * fstd * a.noise
    # hard keys
    node = torch.zeros(Bn, G, C, dtype=torch.long)
    for l in range(DL):
        t = torch.gather(thr.detach().unsqueeze(0).expand(Bn, G, C, NN), 3, node.unsqueeze(3)).squeeze(3)
        node = 2 * node + 1 + (V[..., l].detach() > t).long()
    k = node - NN
    if soft and a.margin > 0 and torch.is_grad_enabled():  # hinge on the hard path's margins
        nd = torch.zeros(Bn, G, C, dtype=torch.long); mg = []
        for l in range(DL):
            t = torch.gather(thr.unsqueeze(0).expand(Bn, G, C, NN), 3, nd.unsqueeze(3)).squeeze(3)
            mg.append(F.relu(a.margin - (V[..., l] - t).abs() / (fstd[..., l] + 1e-6)))
            nd = 2 * nd + 1 + (V[..., l].detach() > t.detach()).long()
        MARG[0] = torch.stack(mg, -1).mean()
    T = (Tab if Tq is None else Tq) * FM
    # hard table sum
    gi = torch.arange(G).view(1, G, 1); ci = torch.arange(C).view(1, 1, C)
    hh = T[gi, ci, k]  # B,G,C,Mg
    if a.probe > 0:
        nd = torch.zeros(Bn, G, C, dtype=torch.long); path = []; mar = []
        for l in range(DL):
            t = torch.gather(thr.unsqueeze(0).expand(Bn, G, C, NN), 3, nd.unsqueeze(3)).squeeze(3)
            path.append(nd); mar.append((V[..., l] - t) / (fstd[..., l] + 1e-6))
            nd = 2 * nd + 1 + (V[..., l].detach() > t.detach()).long()
        Mr = torch.stack(mar, -1)  # B,G,C,L
        lstar = Mr.detach().abs().argmin(-1)  # B,G,C
        alts = []
        for lf in range(DL):
            nd2 = path[lf]
            bit = (V[..., lf].detach() > torch.gather(thr.detach().unsqueeze(0).expand(Bn, G, C, NN), 3, nd2.unsqueeze(3)).squeeze(3)).long()
            nd2 = 2 * nd2 + 1 + (1 - bit)
            for l in range(lf + 1, DL):
                t = torch.gather(thr.detach().unsqueeze(0).expand(Bn, G, C, NN), 3, nd2.unsqueeze(3)).squeeze(3)
                nd2 = 2 * nd2 + 1 + (V[..., l].detach() > t).long()
            alts.append(nd2 - NN)
        k2 = torch.gather(torch.stack(alts, -1), 3, lstar.unsqueeze(3)).squeeze(3)
        mstar = torch.gather(Mr, 3, lstar.unsqueeze(3)).squeeze(3)
        alpha = torch.sigmoid(-mstar.abs() / a.probe).unsqueeze(3)  # <= 0.5
        hh = hh * (1 - alpha) + T[gi, ci, k2] * alpha
    if soft and a.kdrop > 0:
        hh = hh * (torch.rand(Bn, G, C, 1) > a.kdrop).float() / (1 - a.kdrop)
    h = hh.sum(2)  # B,G,Mg
    if soft:
        Vn = V[..., node_level]  # B,G,C,NN
        s = torch.sigmoid((Vn - thr) / tau[..., node_level])
        sl = s[..., leaf_nodes]  # B,G,C,K,L
        pl = torch.where(leaf_dir.bool(), sl, 1 - sl).prod(-1)  # B,G,C,K
        if ANN[0] is not None:
            s2 = torch.sigmoid((Vn - thr) / (fstd[..., node_level] * ANN[0] + 1e-6))
            sl2 = s2[..., leaf_nodes]
            pl2 = torch.where(leaf_dir.bool(), sl2, 1 - sl2).prod(-1)
            h = torch.einsum('bgck,gckm->bgm', pl2, T)
        else:
            hs = torch.einsum('bgck,gckm->bgm', pl, T.detach())
            h = h + hs - hs.detach()
    if a.mode == 'lowrank':
        y3 = h[:, 0] @ Wlr.t() + blr + tb
    else:
        y3 = h.reshape(Bn, M) + tb
    LASTY3[0] = y3
    return F.relu(y3) @ W5p.t() + b5p, k

def loss_fn(z, teach, y, tauD=None):
    tauD = a.tauD if tauD is None else tauD
    kl = F.kl_div(F.log_softmax(z / tauD, 1), F.log_softmax(teach / tauD, 1), log_target=True, reduction='batchmean')
    mse = a.logitmse * 0.05 * (z - teach).pow(2).mean(1) if a.logitmse > 0 else None  # per row, replaces tau^2 * KL
    if (y < 0).any():
        klr = F.kl_div(F.log_softmax(z / tauD, 1), F.log_softmax(teach / tauD, 1), log_target=True, reduction='none').sum(1)
        ce = F.cross_entropy(z, y.clamp(min=0), reduction='none') * (y >= 0).float()
        w = torch.where(y >= 0, torch.full_like(klr, 0.5), torch.ones_like(klr))
        return (w * (tauD * tauD * klr if mse is None else mse) + 0.5 * ce).mean()
    return a.dw * (tauD * tauD * kl if mse is None else mse.mean()) + (1 - a.dw) * F.cross_entropy(z, y)

def evaluate(Tq=None, X=Xte, Y=Yte, Tch=T_te):
    with torch.no_grad():
        z, _ = forward(X, soft=False, Tq=Tq)
        pr = z.argmax(1)
        return (pr == Y).float().mean().item() * 100, (pr == Tch.argmax(1)).float().mean().item() * 100

def quant(T, bits):
    if a.fold:  # stored rows only, symmetric per output column over the group's codebooks; key 0 stays exactly 0
        lv = 2 ** bits
        sc = (T * FM).abs().amax((1, 2), keepdim=True) / (lv / 2 - 1)
        sc = torch.where(sc > 0, sc, torch.ones_like(sc))
        return torch.round(T / sc).clamp(-lv // 2, lv // 2 - 1) * sc * FM
    # per output column of each group, center per codebook by midrange, symmetric levels
    lv = 2 ** bits
    lo = T.amin(2, keepdim=True); hi = T.amax(2, keepdim=True)
    mid = (hi + lo) / 2
    half = ((hi - lo) / 2).amax(1, keepdim=True)  # over codebooks: G,1,1,Mg
    sc = half / (lv / 2 - 0.5)
    sc = torch.where(sc > 0, sc, torch.ones_like(sc))
    q = torch.floor((T - mid) / sc).clamp(-lv // 2, lv // 2 - 1)
    return (q + 0.5) * sc + mid  # constants per codebook absorbed exactly (equivalent to bias)

ANN = [None]; MARG = [None]
LASTY3 = [None]
EMA = [p_.detach().clone() for p_ in params] if a.ema > 0 else None
def shift(xb, g):
    r = a.aug; Bn = xb.shape[0]
    img = F.pad(xb.view(Bn, 28, 28), (r, r, r, r))
    dx = torch.randint(-r, r + 1, (Bn,), generator=g); dy = torch.randint(-r, r + 1, (Bn,), generator=g)
    keep = torch.rand(Bn, generator=g) >= a.augp
    dx[keep] = 0; dy[keep] = 0
    ii = (torch.arange(28).view(1, 28) + r - dy.view(Bn, 1))  # B,28 rows
    jj = (torch.arange(28).view(1, 28) + r - dx.view(Bn, 1))
    out = img[torch.arange(Bn).view(Bn, 1, 1), ii.view(Bn, 28, 1), jj.view(Bn, 1, 28)]
    return out.reshape(Bn, 784)

def train(epochs, soft, trainable, ema_on=True):
    opt = torch.optim.AdamW(trainable, lr=a.lr, weight_decay=a.wd) if a.wd > 0 else torch.optim.Adam(trainable, lr=a.lr)
    n = Xtr.shape[0]; steps = epochs * math.ceil(n / a.batch); st = 0
    g = torch.Generator().manual_seed(a.seed)
    for ep in range(epochs):
        perm = torch.randperm(n, generator=g)
        tot = 0
        ANN[0] = (1.0 * (0.05 ** (ep / max(1, a.anneal - 1)))) if (soft and ep < a.anneal) else None
        for i in range(0, n, a.batch):
            idb = perm[i:i + a.batch]
            for pg in opt.param_groups: pg['lr'] = a.lr * (1 - st / steps)
            xb = Xtr[idb]; tb_ = T_tr[idb]
            if a.aug > 0:
                xb = shift(xb, g); 
                with torch.no_grad(): tb_ = fp32(xb)
            if a.mix > 0:
                j = torch.randperm(len(idb), generator=g)
                lam = torch.distributions.Beta(0.4, 0.4).sample((len(idb), 1)).clamp(0, 1)
                use = (torch.rand(len(idb), 1, generator=g) < a.mix).float()
                lam = 1 - use * (1 - torch.maximum(lam, 1 - lam))
                xb = lam * xb + (1 - lam) * xb[j]
                with torch.no_grad(): tb_ = fp32(xb)
            if a.pixnoise > 0 or a.pixdrop > 0:
                if a.pixnoise > 0: xb = xb + a.pixnoise * torch.randn(xb.shape, generator=g)
                if a.pixclamp: xb = xb.clamp(0, 1)
                if a.pixdrop > 0: xb = xb * (torch.rand(xb.shape, generator=g) >= a.pixdrop).float()
                with torch.no_grad(): tb_ = fp32(xb)
            z, _ = forward(xb, soft=soft)
            loss = loss_fn(z, tb_, Ytr[idb]) if a.mix == 0 else a.dw * a.tauD**2 * F.kl_div(F.log_softmax(z / a.tauD, 1), F.log_softmax(tb_ / a.tauD, 1), log_target=True, reduction='batchmean') + (1 - a.dw) * F.cross_entropy(z, Ytr[idb], reduction='none').mul(lam.squeeze(1)).mean()
            if a.hint > 0:
                y3t = Y3T[idb] if not (a.aug or a.mix or a.pixnoise or a.pixdrop) else teach3(xb)
                loss = loss + a.hint * (LASTY3[0] - y3t).pow(2).mean() / Y3VAR
            if a.l2sp > 0: loss = loss + a.l2sp * sum((q - q0).pow(2).sum() for q, q0 in SP0)
            if MARG[0] is not None: loss = loss + a.marginw * MARG[0]; MARG[0] = None
            opt.zero_grad(); loss.backward(); opt.step(); st += 1
            if EMA is not None and ema_on:
                with torch.no_grad():
                    for e_, p_ in zip(EMA, params): e_.mul_(a.ema).add_(p_.detach(), alpha=1 - a.ema)
            tot += loss.item() * len(idb)
        print(f'  ep {ep+1} loss {tot/n:.4f} test(float) {evaluate()}', flush=True)

t0 = time.time()
print('init float', evaluate(), 'q', evaluate(quant(Tab.detach(), a.bits)), flush=True)
train(a.epochs, True, params if not a.frozen else [thr, Tab, tb, W5p, b5p])
print('after soft float', evaluate(), 'q', evaluate(quant(Tab.detach(), a.bits)), flush=True)
if a.ft > 0:
    ftp = [Tab, tb, W5p, b5p] + ([Wlr, blr] if a.mode == 'lowrank' else [])
    train(a.ft, False, ftp)
Tq = quant(Tab.detach(), a.bits)
accq = evaluate(Tq)
# bytes
Ctot = G * C
rowbytes = math.ceil(Mg * a.bits / 8)
tbytes = Ctot * (K - a.fold) * rowbytes + (Ctot * (DL + 2 * NN) if a.compact else Ctot * 4 * (DL + NN))
if a.mode == 'lowrank':
    tbytes += 8 * a.r + a.r * M + 4 * M + 4 * M
else:
    tbytes += (4 if a.compact else 8) * M
raws = f"train={evaluate(Tq, Xtr[:min(10000, NORIG)], Ytr[:min(10000, NORIG)], T_tr[:min(10000, NORIG)])} test float={evaluate()}"
emas = ''
if EMA is not None:  # the same figures with the EMA weights (keys follow the EMA W1u/b1u/thr)
    with torch.no_grad():
        for e_, p_ in zip(EMA, params): p_.copy_(e_)
    trE = lambda Tq_: evaluate(Tq_, Xtr[:min(10000, NORIG)], Ytr[:min(10000, NORIG)], T_tr[:min(10000, NORIG)])
    TqE = quant(Tab.detach(), a.bits)
    emas = f' ema{a.ema}: train={trE(TqE)} float={evaluate()} quant={evaluate(TqE)}'
    if a.emaft > 0:
        train(a.emaft, False, [Tab, tb, W5p, b5p], ema_on=False)
        TqE = quant(Tab.detach(), a.bits)
        emas += f' ema+ft{a.emaft}: train={trE(TqE)} float={evaluate()} quant={evaluate(TqE)}'
print(f'RESULT mode={a.mode} depth={DL} fold={a.fold} G={G} C={C} compact={a.compact} r={a.r} bits={a.bits} ep={a.epochs}+{a.ft} bytes={tbytes} ratio={131584/tbytes:.2f} {raws} quant={accq}{emas} time={time.time()-t0:.0f}s', flush=True)
