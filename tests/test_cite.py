from tutor.cite import attribute_sentences, is_abstention, parse_citations


def test_markers_to_missing_sources_are_dropped_and_reported():
    parsed = parse_citations("GANs use two networks [1][12]. Diffusion adds noise [7].", 5)
    assert parsed.text == "GANs use two networks [1]. Diffusion adds noise."
    assert parsed.numbers == [1]
    assert parsed.dropped == [12, 7]


def test_letters_and_ordinary_brackets_are_not_citations():
    parsed = parse_citations("Index with x[a] or [see above] [2].", 3)
    assert parsed.text == "Index with x[a] or [see above] [2]."
    assert parsed.numbers == [2]


def test_nested_grouped_and_labelled_markers_are_normalised():
    parsed = parse_citations("A [[2]]. B [1, 3]. C [Source 2; passage 4]. D [ 1 ].", 4)
    assert parsed.text == "A [2]. B [1][3]. C [2][4]. D [1]."
    assert parsed.numbers == [2, 1, 3, 4]


def test_zero_and_huge_numbers_are_dropped():
    parsed = parse_citations("Zero [0] and huge [99999999999].", 2)
    assert parsed.text == "Zero and huge."
    assert parsed.numbers == [] and parsed.dropped == [0, 99999999999]


def test_uncited_sentences_are_attributed_to_the_passage_that_supports_them():
    passages = [
        "The generator maps random noise to samples.",
        "The forward pass stores activations for the backward pass.",
    ]
    text = "The generator maps random noise into samples. The weather is nice today."
    out = attribute_sentences(text, passages)
    assert out == "The generator maps random noise into samples [1]. The weather is nice today."


def test_abstention_is_recognised_in_the_models_usual_phrasings():
    assert is_abstention("I can't find this in the course materials.")
    assert is_abstention("Sorry, the passages do not contain information about football.")
    assert not is_abstention("GANs train a generator and a discriminator [1].")


def test_streamed_markers_are_cleaned_the_same_way_as_the_whole_text():
    from tutor.cite import StreamingCitationFilter

    text = "GANs pit two nets [1][7]. See [[2]] and x[a] [Source 3]. Noise [12]. End [2"
    for size in (1, 2, 3, 5, 8):
        stream = StreamingCitationFilter(source_count=3)
        pieces = [text[i : i + size] for i in range(0, len(text), size)]
        streamed = "".join(stream.feed(p) for p in pieces) + stream.flush()
        assert streamed == parse_citations(text, 3).text, size


def test_a_marker_on_a_sentence_copied_from_another_passage_is_re_pointed():
    from tutor.cite import repair_citations

    passages = [
        "Backprop computes how much each weight contributed to the error.",
        "The calculus note covers derivatives and the chain rule.",
    ]
    wrong = "Backprop computes how much each weight contributed to the error. [2]"
    assert repair_citations(wrong, passages) == (
        "Backprop computes how much each weight contributed to the error. [1]"
    )
    # A citation that is plausibly right is left alone.
    right = "The chain rule and derivatives are in the calculus note [2]."
    assert repair_citations(right, passages) == right
