"""Grid-graph adapter (docs/theory.md §7): partition, sigma schedule, localized Gaussian noise,
votes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from graphcert.data.grid import GridPartition, chebyshev_distances
from graphcert.noise.gaussian import GridGaussian, sigma_schedule
from graphcert.tasks.image.votes import cell_votes, smoothed_votes


def test_partition_covers_image_in_near_equal_cells():
    p = GridPartition(10, 7, 3, 2)
    cells = p.cell_map()
    assert cells.shape == (10, 7) and set(np.unique(cells)) == set(range(6))
    sizes = np.bincount(cells.ravel())
    assert sizes.sum() == 70 and sizes.max() - sizes.min() <= 7
    for k in range(6):
        rows, cols = p.cell_slices(k)
        assert np.all(cells[rows, cols] == k) and (cells == k).sum() == cells[rows, cols].size
    np.testing.assert_array_equal(p.labels, cells.ravel())


@pytest.mark.parametrize("args", [(4, 4, 5, 1), (4, 4, 1, 5), (0, 4), (4, 4, 0, 1), (4, 4, 1.5, 1)])
def test_partition_rejects_bad_shapes(args):
    with pytest.raises(ValueError):
        GridPartition(*args)


def test_chebyshev_distances_by_hand():
    d = chebyshev_distances(2, 3)
    # cells (0,0) (0,1) (0,2) / (1,0) (1,1) (1,2)
    assert d[0].tolist() == [0, 1, 2, 1, 1, 2]
    assert d[4].tolist() == [1, 1, 1, 1, 0, 1]
    np.testing.assert_array_equal(d, d.T)


def test_sigma_schedule_normalizes_by_largest_distance():
    s = sigma_schedule(3, 5, 0.1, 0.5)  # D = 4, not C - 1 = 14
    assert s.shape == (15, 15)
    assert s[0, 0] == pytest.approx(0.1) and s[0, 14] == pytest.approx(0.5)
    assert s[0, 1] == pytest.approx(0.2) and s[7, 0] == pytest.approx(0.3)  # center to corner: 2
    assert sigma_schedule(1, 1, 0.3, 0.9).tolist() == [[0.3]]
    for bad in [(0.0, 1.0), (-0.1, 1.0), (0.5, 0.4), (0.1, np.inf)]:
        with pytest.raises(ValueError):
            sigma_schedule(2, 2, *bad)


def test_localized_gaussian_noise_levels_and_protocol():
    noise = GridGaussian(GridPartition(8, 8, 2, 2), 0.1, 0.7)
    assert all(callable(getattr(noise, m)) for m in ('prepare', 'sample', 'describe'))
    assert noise.n_clusters == 4 and noise.describe()['rows'] == 2
    np.testing.assert_allclose(noise.weights(), 1 / noise.sigma**2)
    x = torch.zeros(1, 8, 8)
    z = noise.sample(x, 0, 2000, np.random.default_rng(0)).numpy()
    std = z.std(axis=0)[0]
    np.testing.assert_allclose(std[:4, :4], 0.1, rtol=0.1)  # own cell
    np.testing.assert_allclose(std[4:, 4:], 0.7, rtol=0.1)  # diagonal neighbour, D = 1
    np.testing.assert_allclose(noise.pixel_sigma(3)[4:, 4:], 0.1)
    with pytest.raises(ValueError):
        noise.prepare(torch.zeros(1, 8, 9))


def _identity_predict(z: torch.Tensor) -> torch.Tensor:
    return (z[:, 0] > 0).long()


def test_cell_votes_use_own_cell_samples_and_are_seeded():
    noise = GridGaussian(GridPartition(6, 6, 2, 2), 0.5, 3.0)
    x = torch.full((1, 6, 6), 1.0)
    votes = cell_votes(_identity_predict, x, noise, 300, 2, batch_size=64, seed=3)
    assert votes.shape == (36, 2) and np.all(votes.sum(axis=1) == 300)
    # own-cell sigma 0.5: P[z > 0] = Phi(2) ~ 0.977 for every pixel (not Phi(1/3))
    assert votes[:, 1].mean() / 300 > 0.95
    again = cell_votes(_identity_predict, x, noise, 300, 2, batch_size=7, seed=3)
    np.testing.assert_array_equal(votes, again)  # batches do not change the draws
    pv = smoothed_votes(_identity_predict, x, noise, 2, 20, 100, seed=1)
    assert np.all(pv.candidate == 1) and pv.n == 100 and pv.votes.shape == (36,)
    with pytest.raises(ValueError):
        cell_votes(lambda z: _identity_predict(z) + 5, x, noise, 4, 2)
