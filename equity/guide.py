"""Text for the Guide page: what each measure means, the method behind each page, a glossary and
the accessibility statement. Kept here so tests can check that every measure is explained."""
from __future__ import annotations

from .measures import MEASURES

GLOSSARY = {
    "Disadvantaged pupils": "Pupils eligible for free school meals at any point in the last six years, looked after "
                            "by the LA, or adopted from care (DfE). Not the same as pupil premium, which also covers "
                            "service children.",
    "Other pupils": "All pupils who are not disadvantaged.",
    "Within-school gap": "Other pupils' result minus disadvantaged pupils' result, same school, year and measure.",
    "Gap to national other pupils": "A school's disadvantaged pupils' result minus that of non-disadvantaged pupils "
                                    "in all of England (DfE's DIFFN). Fairer for schools with few other pupils.",
    "Published figure": "An LA or England number exactly as DfE printed it.",
    "Estimate": "A figure this dashboard computed (for example pooled over three years); always labelled.",
    "Suppressed (SUPP)": "DfE withheld the figure, usually because five or fewer pupils were in the group.",
    "Family of schools": "The 12-20 schools with the most similar intake (prior attainment, disadvantage, EAL, SEN) "
                         "outside a competition radius, across LA boundaries.",
    "Keys to Success": "Schools facing the most challenging circumstances, selected by a transparent rule for "
                       "intensive support through partnerships with stronger schools.",
    "Hub school": "A school that stays above its family for disadvantaged pupils year after year.",
    "LSOA": "Lower-layer super output area: a neighbourhood of about 1,500 people, the unit of the IoD2019.",
    "IMD / IDACI": "Index of Multiple Deprivation 2019 / Income Deprivation Affecting Children Index. Decile 1 = most "
                   "deprived 10% of neighbourhoods in England.",
    "Funnel plot": "Results plotted against cohort size with control limits that narrow as cohorts grow, so a small "
                   "school's swing is not read as failure.",
    "Academic year": "Written 2017/18: September 2017 to August 2018.",
}

METHODS = {
    "LA overview and Gap trends": "LA and England values are DfE's published rows. A gap is other minus disadvantaged. "
        "A change is called real only if it is bigger than its noise (95% interval from published confidence "
        "intervals or from cohort sizes). Lines are never drawn across the breaks listed on the Data page. The funnel "
        "plot's limits are 95% and 99.8% around the LA value for each cohort size.",
    "Families of schools": "Context variables (prior attainment, % disadvantaged, % EAL, % SEN) are standardised "
        "within a year and phase; the family is the nearest schools by weighted Euclidean distance, excluding any "
        "school within the competition radius, across LA boundaries. Special and independent schools are left out.",
    "Keys to Success and partnerships": "A rule you can read and change selects schools; a matcher solves one "
        "assignment problem over all of them so that each gets a clearly stronger partner (the lower end of the 95% "
        "interval of the margin above zero) outside the radius, with no supporter taking more than K schools.",
    "Neighbourhoods": "Deprivation is averaged as scores (never ranks), weighted by population, over the LSOAs around "
        "a school. A school's location stands in for where its pupils live, which it does only roughly.",
}

ACCESSIBILITY = """This dashboard aims to meet WCAG 2.2 AA. Colours come from the Okabe-Ito palette, which stays
distinguishable for the common colour-vision deficiencies, and colour is never the only carrier of meaning: lines
differ by dash and markers, and every chart has a sentence saying what it shows and a table of its data with a CSV
download. Pages work with a keyboard and at 200% zoom. Known limits: maps are visual; their data is always in the table
beside them. Automated checks (axe-core) run on every page in the test suite. Report a problem through the project's
issue tracker."""


def measure_rows() -> list[dict]:
    return [{"Measure": m.label, "Key stage": f"KS{m.key_stage}", "Name in CLI": k, "Unit": m.unit,
             "What it means": m.meaning} for k, m in MEASURES.items()]
