"""Back-propagation by hand on a 2-2-1 sigmoid net, side by side with netfit.

The lecture's equations (ESL §11.4, see docs/backprop.md), for squared error
R_i = Σ_k (y_ik − f_k(x_i))² and one hidden layer z_mi = σ(α_m0 + α_mᵀx_i),
f_k(x_i) = g_k(β_k0 + β_kᵀz_i):

    δ_ki = −2 (y_ik − f_k(x_i)) g_k'(β_k0 + β_kᵀz_i)      the output error
    s_mi = σ'(α_m0 + α_mᵀx_i) Σ_k β_km δ_ki              the back-propagated error
    ∂R_i/∂β_km = δ_ki z_mi,   ∂R_i/∂α_ml = s_mi x_il      the gradients
    β^(r+1) = β^(r) − γ_r Σ_i ∂R_i/∂β^(r)                 one step of gradient descent

are computed here with plain NumPy on two examples, in float64, and compared
with what netfit computes. netfit's loss is the *mean* R / (nK) (see
docs/backprop.md), so its gradients are the lecture's divided by nK, and its
learning rate γ·nK makes the same step.

Run:  python examples/backprop_by_hand.py [--out examples/out]
"""
import argparse
from pathlib import Path

import numpy as np

import netfit as nf
from netfit.layers import Dense

TOL = 1e-12


def sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def fmt(a, precision=6):
    """An array on one line."""
    text = np.array2string(np.asarray(a), precision=precision, suppress_small=True, separator=", ")
    return text.replace("\n", "")


def show(name, hand, netfit):
    """Print the hand value above netfit's and return their largest difference."""
    diff = float(np.max(np.abs(np.asarray(hand) - np.asarray(netfit))))
    print(f"  {name:<42} by hand {fmt(hand)}")
    print(f"  {'':<42} netfit  {fmt(netfit)}   |diff| {diff:.1e}")
    return diff


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out",
                        help="folder for the picture (default: examples/out)")
    args = parser.parse_args(argv)

    # Two examples x_i ∈ R², one target each (n = 2, K = 1), and the weights in the lecture's names.
    X = np.array([[1.0, 0.5],
                  [-0.5, 2.0]])
    Y = np.array([[1.0],
                  [0.0]])
    n, K = Y.shape
    alpha0 = np.array([0.1, -0.2])                 # α_m0
    alpha = np.array([[0.5, -0.4],                 # row m is α_m = (α_m1, α_m2)
                      [0.3, 0.8]])
    beta0 = np.array([0.05])                       # β_k0
    beta = np.array([[0.7, -0.6]])                 # row k is β_k = (β_k1, β_k2)
    gamma = 0.5                                    # the learning rate γ_r

    # ---- the lecture, by hand ------------------------------------------------------------
    Z = sigmoid(alpha0 + X @ alpha.T)              # z_mi = σ(α_m0 + α_mᵀx_i); row i is z_i
    F = sigmoid(beta0 + Z @ beta.T)                # f_k(x_i) = g_k(β_k0 + β_kᵀz_i), g = sigmoid
    R = float(((Y - F) ** 2).sum())                # R = Σ_i R_i
    delta = -2.0 * (Y - F) * F * (1.0 - F)         # δ_ki = −2(y_ik − f_k(x_i)) g'(T_ki), g' = g(1 − g)
    s = Z * (1.0 - Z) * (delta @ beta)             # s_mi = σ'(α_m0 + α_mᵀx_i) Σ_k β_km δ_ki
    dbeta = delta.T @ Z                            # Σ_i ∂R_i/∂β_km = Σ_i δ_ki z_mi      (K, M)
    dbeta0 = delta.sum(axis=0)                     # Σ_i ∂R_i/∂β_k0 = Σ_i δ_ki
    dalpha = s.T @ X                               # Σ_i ∂R_i/∂α_ml = Σ_i s_mi x_il      (M, p)
    dalpha0 = s.sum(axis=0)                        # Σ_i ∂R_i/∂α_m0 = Σ_i s_mi

    # ---- the same net in netfit ----------------------------------------------------------
    model = nf.Sequential([Dense(2, activation="sigmoid", input_shape=(2,)),
                           Dense(1, activation="sigmoid")], name="net_2_2_1", dtype="float64", seed=0)
    # Keras layout: kernel[l, m] = α_ml (rows are inputs), so the kernels are the transposes.
    model.set_weights([alpha.T, alpha0, beta.T, beta0])
    model.compile(optimizer=nf.optimizers.SGD(learning_rate=gamma * n * K), loss="mse")
    hidden, output = model.layers
    # The layers' own forward and backward, as Sequential chains them (copies: they reuse buffers).
    z_nf = hidden.forward(X).copy()
    f_nf = output.forward(z_nf).copy()
    dR_df = model.loss.gradient(f_nf, Y)                                   # 2(f − y)/(nK)
    delta_nf = output.activation.backward(dR_df, None, f_nf)               # δ_ki / (nK)
    back = output.backward(dR_df).copy()                                   # Σ_k β_km δ_ki / (nK)
    s_nf = hidden.activation.backward(back, None, z_nf)                    # s_mi / (nK)
    loss, grads = model.loss_and_gradients(X, Y)                           # R/(nK), ∂R/∂θ /(nK)

    print("Forward pass (rows are the examples i = 1, 2)")
    diffs = [show("z_i = σ(α_0 + αᵀx_i)", Z, z_nf),
             show("f(x_i) = g(β_0 + βᵀz_i)", F, f_nf),
             show("R = Σ_i Σ_k (y_ik − f_k(x_i))²", R, loss * n * K)]
    print("Backward pass (netfit's values × nK, since its R is a mean)")
    diffs += [show("δ_ki = −2(y_ik − f_k) g'(T_ki)", delta, delta_nf * n * K),
              show("s_mi = σ'(α_m0 + α_mᵀx_i) Σ_k β_km δ_ki", s, s_nf * n * K)]
    print("Gradients Σ_i ∂R_i/∂θ (netfit: model.loss_and_gradients × nK; kernels transposed)")
    diffs += [show("∂R/∂α_ml = Σ_i s_mi x_il", dalpha, grads[0].T * n * K),
              show("∂R/∂α_m0 = Σ_i s_mi", dalpha0, grads[1] * n * K),
              show("∂R/∂β_km = Σ_i δ_ki z_mi", dbeta, grads[2].T * n * K),
              show("∂R/∂β_k0 = Σ_i δ_ki", dbeta0, grads[3] * n * K)]
    worst = max(diffs)
    assert worst < TOL, f"hand and netfit differ by {worst:.3g}"
    print(f"max |hand - netfit| = {worst:.1e} (< {TOL:g}): the equations are the code.")

    # ---- one step of gradient descent: θ^(r+1) = θ^(r) − γ Σ_i ∂R_i/∂θ^(r) --------------------
    before = [alpha, alpha0, beta, beta0]
    hand_after = [w - gamma * g for w, g in zip(before, (dalpha, dalpha0, dbeta, dbeta0))]
    model.fit(X, Y, batch_size=None, epochs=1, shuffle=False, verbose=0)  # one full-batch SGD step
    a_k, a_b, b_k, b_b = model.get_weights()
    netfit_after = [a_k.T, a_b, b_k.T, b_b]
    step_diff = max(float(np.max(np.abs(h - m))) for h, m in zip(hand_after, netfit_after))
    assert step_diff < TOL, f"the step differs by {step_diff:.3g}"
    R_after = model.evaluate(X, Y) * n * K
    print(f"\nOne gradient-descent step with γ = {gamma} (netfit: SGD(learning_rate=γ·nK = {gamma * n * K:g}), "
          f"batch_size=None)")
    for name, w0, w1 in zip(("α (rows α_m)", "α_0", "β (rows β_k)", "β_0"), before, netfit_after):
        print(f"  {name:<13} {fmt(w0, 4):<30} -> {fmt(w1, 4)}")
    print(f"  new weights: max |hand - netfit| = {step_diff:.1e}")
    assert R_after < R
    print(f"R before: {R:.6f}  after one step: {R_after:.6f}  (R decreased)")

    args.out.mkdir(parents=True, exist_ok=True)
    from netfit.plotting import plot_network
    path = args.out / "backprop_by_hand.png"
    plot_network(model, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
