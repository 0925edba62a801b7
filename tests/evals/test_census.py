from saerepro.evals import census


def test_census_reads_the_installed_directory():
    listed = census.listed_sae_l0s()
    assert len(listed) > 100
    assert all(s.l0 > 0 and s.neuronpedia_id for s in listed)
    assert census.sae_lens_version() == "6.54.12"


def test_gemma2_layer12_residual_filter():
    layer12 = [s for s in census.listed_sae_l0s() if census.is_gemma2_2b_layer12_residual(s)]
    assert layer12
    assert all(s.model == "gemma-2-2b" and s.sae_id.startswith("layer_12/") for s in layer12)
    assert not any("transcoder" in s.release for s in layer12)
