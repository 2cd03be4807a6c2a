"""Every meta-feature: its group, a one-line definition, and whether OpenML has it.

``docs/metafeatures.md`` is this table in prose; a test keeps the two in step and checks
that ``compute_metafeatures`` returns exactly these names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    """A meta-feature's group, definition and OpenML counterpart (same name) if any."""

    group: str
    doc: str
    openml: bool = False
    regression: bool | None = None  # None: both problem kinds; else only that kind


GROUPS: dict[str, tuple[str, ...]] = {
    "tabular": ("general", "statistical", "pca", "information", "landmarkers"),
    "image": ("image",),
    "text": ("text",),
}

_SUMMARY = {
    "Min": "minimum",
    "Max": "maximum",
    "Mean": "mean",
    "Quartile1": "first quartile (position p(n+1))",
    "Quartile2": "median (position p(n+1))",
    "Quartile3": "third quartile (position p(n+1))",
}

_GENERAL = {
    "NumberOfInstances": "Rows (of the full source when a sample was described).",
    "NumberOfFeatures": "Attributes including the target, as OpenML counts them.",
    "NumberOfClasses": "Distinct target classes; 0 for regression.",
    "Dimensionality": "NumberOfFeatures / NumberOfInstances.",
    "NumberOfMissingValues": "Missing cells over all attributes.",
    "NumberOfInstancesWithMissingValues": "Rows with at least one missing cell.",
    "PercentageOfMissingValues": "Missing cells, percent of rows x attributes.",
    "PercentageOfInstancesWithMissingValues": "Rows with a missing cell, percent of rows.",
    "NumberOfNumericFeatures": "Numeric attributes (a regression target included).",
    "NumberOfSymbolicFeatures": "Nominal attributes (a class target included).",
    "NumberOfBinaryFeatures": "Nominal attributes with exactly two values (target included).",
    "PercentageOfNumericFeatures": "NumberOfNumericFeatures, percent of NumberOfFeatures.",
    "PercentageOfSymbolicFeatures": "NumberOfSymbolicFeatures, percent of NumberOfFeatures.",
    "PercentageOfBinaryFeatures": "NumberOfBinaryFeatures, percent of NumberOfFeatures.",
    "MajorityClassSize": "Rows of the most frequent class.",
    "MinorityClassSize": "Rows of the least frequent class.",
    "MajorityClassPercentage": "Most frequent class, percent of rows.",
    "MinorityClassPercentage": "Least frequent class, percent of rows.",
    "ClassEntropy": "Entropy of the class distribution, bits.",
    "AutoCorrelation": "Share of consecutive rows with the same class (row-order dependent).",
    "MinNominalAttDistinctValues": "Fewest values of a nominal attribute (target included).",
    "MaxNominalAttDistinctValues": "Most values of a nominal attribute (target included).",
    "MeanNominalAttDistinctValues": "Mean number of values of nominal attributes.",
    "StdvNominalAttDistinctValues": "Sample std dev of the number of values of nominal atts.",
}

_TARGET = {
    "TargetMean": "Mean of the regression target.",
    "TargetStd": "Sample standard deviation of the regression target.",
    "TargetSkewness": "Bias-corrected skewness (G1) of the regression target.",
    "TargetKurtosis": "Bias-corrected excess kurtosis (G2) of the regression target.",
    "TargetMin": "Minimum of the regression target.",
    "TargetMedian": "Median of the regression target.",
    "TargetMax": "Maximum of the regression target.",
}

_PCA = {
    "PCAFractionOfComponentsFor95PercentVariance": (
        "Principal components (correlation matrix) for 95% variance / numeric attributes."
    ),
    "PCAVarianceFractionFirstPC": "Share of variance on the first principal component.",
    "PCASkewnessFirstPC": "Absolute skewness (G1) of the first principal component's scores.",
    "PCAKurtosisFirstPC": "Excess kurtosis (G2) of the first principal component's scores.",
}

_INFO_EXTRA = {
    "EquivalentNumberOfAtts": "ClassEntropy / MeanMutualInformation (nominal attributes).",
    "MeanNoiseToSignalRatio": (
        "(MeanAttributeEntropy - MeanMutualInformation) / MeanMutualInformation."
    ),
    "BinnedEquivalentNumberOfAtts": "BinnedTargetEntropy / MeanBinnedMutualInformation.",
    "MeanBinnedNoiseToSignalRatio": (
        "(MeanBinnedAttributeEntropy - MeanBinnedMutualInformation) / its denominator."
    ),
    "BinnedTargetEntropy": "Entropy of the class (or binned regression target), bits.",
}

_LANDMARK_MODELS = {
    "DecisionStump": "a depth-1 decision tree",
    "NaiveBayes": "Gaussian naive Bayes",
    "kNN1N": "1-nearest-neighbour on min-max scaled attributes",
    "LinearRegression": "ridge regression (alpha 1e-3)",
}
_LANDMARK_METRICS = {
    "ErrRate": "cross-validated error rate (1 - accuracy)",
    "AUC": "cross-validated AUC (class-weighted one-vs-rest)",
    "Kappa": "cross-validated Cohen's kappa",
    "R2": "cross-validated R2",
}

_IMAGE = {
    "NumberOfInstances": "Images.",
    "NumberOfClasses": "Class folders with at least one image.",
    "ImageMeanWidth": "Mean width in pixels (sampled images).",
    "ImageMinWidth": "Smallest width in pixels (sampled images).",
    "ImageMaxWidth": "Largest width in pixels (sampled images).",
    "ImageMeanHeight": "Mean height in pixels (sampled images).",
    "ImageMinHeight": "Smallest height in pixels (sampled images).",
    "ImageMaxHeight": "Largest height in pixels (sampled images).",
    "ImageMeanAspectRatio": "Mean width / height (sampled images).",
    "ImageStdAspectRatio": "Std dev of width / height (sampled images).",
    "ImageMeanChannels": "Mean number of colour channels (1 grey, 3 RGB, 4 RGBA).",
    "ImageGrayscaleFraction": "Share of sampled images with one channel.",
    "ImagePixelMean": "Mean pixel intensity in [0, 1] over sampled images and channels.",
    "ImagePixelStd": "Std dev of pixel intensity in [0, 1] over sampled images.",
    "ImageMeanPixelStdPerImage": "Mean over sampled images of their pixel std dev (contrast).",
}

_TEXT = {
    "NumberOfInstances": "Documents.",
    "NumberOfClasses": "Distinct classes; 0 for regression.",
    "TextMeanChars": "Mean characters per document.",
    "TextMedianChars": "Median characters per document.",
    "TextMaxChars": "Most characters in a document.",
    "TextStdChars": "Std dev of characters per document.",
    "TextMeanTokens": "Mean word tokens per document (\\w+ runs).",
    "TextMedianTokens": "Median word tokens per document.",
    "TextMaxTokens": "Most word tokens in a document.",
    "TextVocabularySize": "Distinct lower-cased tokens (sampled documents).",
    "TextTypeTokenRatio": "TextVocabularySize / tokens (sampled documents).",
    "TextEmptyFraction": "Share of empty documents.",
}

_CLASS_SHARED = ("MajorityClassPercentage", "MinorityClassPercentage", "ClassEntropy")


def _build() -> dict[str, dict[str, Feature]]:
    tab: dict[str, Feature] = {}
    for name, doc in _GENERAL.items():
        tab[name] = Feature("general", doc, True)
    for stem, what in (
        ("MeansOfNumericAtts", "means"),
        ("StdDevOfNumericAtts", "sample std devs"),
        ("SkewnessOfNumericAtts", "skewness (G1)"),
        ("KurtosisOfNumericAtts", "excess kurtosis (G2)"),
    ):
        for p, agg in _SUMMARY.items():
            tab[f"{p}{stem}"] = Feature(
                "statistical", f"The {agg} of the numeric attributes' {what}.", True
            )
    for name, doc in _TARGET.items():
        tab[name] = Feature("statistical", doc, regression=True)
    for name, doc in _PCA.items():
        tab[name] = Feature("pca", doc, name != "PCAVarianceFractionFirstPC")
    for stem, what, openml in (
        ("AttributeEntropy", "entropies (bits) of nominal attributes", True),
        ("MutualInformation", "mutual informations (bits) of nominal attributes and class", True),
        ("BinnedAttributeEntropy", "entropies of all attributes, numeric ones binned", False),
        (
            "BinnedMutualInformation",
            "mutual informations of all (binned) attributes and target",
            False,
        ),
    ):
        for p, agg in _SUMMARY.items():
            tab[f"{p}{stem}"] = Feature("information", f"The {agg} of the {what}.", openml)
    for name, doc in _INFO_EXTRA.items():
        tab[name] = Feature("information", doc, not name.startswith(("Binned", "MeanBinned")))
    for models, metrics, regression in (
        (("DecisionStump", "NaiveBayes", "kNN1N"), ("ErrRate", "AUC", "Kappa"), False),
        (("DecisionStump", "LinearRegression", "kNN1N"), ("R2",), True),
    ):
        for model in models:
            for metric in metrics:
                doc = f"The {_LANDMARK_METRICS[metric]} of {_LANDMARK_MODELS[model]}."
                tab[f"{model}{metric}"] = Feature("landmarkers", doc, not regression, regression)
    image = {k: Feature("image", v, k.startswith("Number")) for k, v in _IMAGE.items()}
    text = {k: Feature("text", v, k.startswith("Number")) for k, v in _TEXT.items()}
    for table in (image, text):
        for name in _CLASS_SHARED:
            table[name] = Feature(table["NumberOfInstances"].group, _GENERAL[name], True, False)
        for name, doc in _TARGET.items():
            table[name] = Feature(table["NumberOfInstances"].group, doc, regression=True)
    return {"tabular": tab, "image": image, "text": text}


FEATURES: dict[str, dict[str, Feature]] = _build()


def feature_names(modality: str, regression: bool) -> list[str]:
    """Names of every feature computed for a modality and problem kind, in order."""
    return [
        name
        for name, f in FEATURES[modality].items()
        if f.regression is None or f.regression == regression
    ]
