"""Text for the Guide page: what each measure means, the method behind each page, a glossary and
the accessibility statement. Kept here so tests can check that every measure is explained."""
from __future__ import annotations

from equity.measures import MEASURES

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
    "LSOA": "Lower-layer super output area: a neighbourhood of about 1,500 people, the unit of the IoD (2011 LSOAs "
            "for IoD2019, 2021 LSOAs for IoD2025).",
    "IMD / IDACI": "Index of Multiple Deprivation (2019 or 2025) / Income Deprivation Affecting Children Index. "
                   "Decile 1 = most deprived 10% of neighbourhoods in England.",
    "Funnel plot": "Results plotted against cohort size with control limits that narrow as cohorts grow, so a small "
                   "school's swing is not read as failure. The centre line is the average of the schools plotted "
                   "(an estimate); the LA's published figure, which also counts special schools and withheld "
                   "results, is drawn as a separate reference line.",
    "Beyond noise": "A difference or change is called real only when it is more than 1.96 times its standard error "
                    "(95%): about 1 in 20 changes of that size would still be chance. Smaller ones are reported as "
                    "within the noise, and no change is claimed. A group's size not published means the test "
                    "cannot be run, and the page says so.",
    "Between-school allowance (overdispersion)": "Schools differ for real reasons (their intake, not only chance), so "
                    "plain funnel limits flag many schools. The overview adds the spread between schools that is "
                    "more than chance (DerSimonian-Laird between-school variance, added to each school's own noise: "
                    "Spiegelhalter's additive method). It is on by default; a school outside these limits stands out "
                    "beyond the usual spread. Limit: it treats that spread as the same for small and large schools.",
    "Break in the series": "Two years that must not be compared or joined by a line: a change of method or scale "
                           "(Attainment 8 before 2016/17; Progress 8 from 2017/18, when DfE capped extreme negative "
                           "pupil scores), years without results (2019/20-2020/21; Progress 8 2024/25-2025/26; KS2 "
                           "progress 2023/24-2024/25), and KS4 2021/22, graded between pandemic and normal grading "
                           "(not compared with 2018/19 or with 2022/23 on). Reformed 9-1 GCSEs (2016/17-2018/19) are "
                           "a caution, not a break. The Data page lists every break.",
    "Provisional": "A figure DfE published before its final release (for example the 2018/19 KS4 tables bundled "
                   "here): it may still be revised; charts ring such points.",
    "Destinations year": "A KS4 destination measure is dated by the pupils who finished KS4 that year (the 2018/19 "
                         "tables report the 2016/17 leavers, in education or work in 2017/18).",
    "Academic year": "Written 2017/18: September 2017 to August 2018.",
}

METHODS = {
    "LA overview and Gap trends": "LA and England values are DfE's published rows; where a year has no published LA "
        "row, a pupil-weighted average of the LA's schools is shown and labelled an estimate. A gap is other minus "
        "disadvantaged; the gap to national other pupils is DfE's DIFFN where printed. A change is called real only "
        "if it is bigger than 1.96 standard errors (published confidence intervals where DfE gives them, binomial "
        "errors for percentages, an assumed pupil-level spread for Attainment 8, stated on the page); every page, "
        "the CLI and the packs use this one test, so a school gets the same verdict everywhere. Lines are never "
        "drawn across the breaks listed on the Data page. The funnel plot's limits are 95% and 99.8% around the "
        "pupil-weighted average of the schools plotted (an estimate; the LA's published value is a reference line), "
        "widened by default for real differences between schools (DerSimonian-Laird, Spiegelhalter's additive "
        "method): without that allowance a third of an LA's schools can sit outside the 95% limits, mostly because "
        "of their intake. A value for a group of no pupils is no value; a group of fewer than 6 is hidden, and so is "
        "the other group where the all-pupils figure would reveal it (DfE's secondary suppression). Small schools get a three-year pooled view (DfE's own where printed, "
        "otherwise pupil-weighted and labelled an estimate).",
    "Families of schools": "Prior attainment, % disadvantaged, % EAL and % SEN (weights 1, 1, 0.5, 0.5 by default; "
        "IDACI of the school's neighbourhood optional) are standardised within a year and phase. A school's family "
        "is its 20 nearest mainstream state-funded schools by weighted distance, leaving out any school within the "
        "competition radius (5 km by default: about the statutory 3-mile walking distance, so schools closer than "
        "that draw on the same neighbourhoods), across LA boundaries. A school missing a figure gets no family rather "
        "than an invented one. The distance allows for figures that move together (a Mahalanobis distance): prior "
        "attainment and % disadvantaged correlate at about -0.6, so a plain distance would count deprivation twice; "
        "here the shared part counts once. How well families work is checked for each measure and key stage: the "
        "spread of results within families against the spread across all schools, and the share of the differences "
        "between schools the family median explains. Limits: families explain much of disadvantaged pupils' "
        "Attainment 8 (about two thirds in 2023/24, partly because prior attainment is one of the figures they are "
        "made of), about a third of their Progress 8, and almost nothing (0-1%) of KS2 results in the two counties "
        "we hold. Where they explain little, the Families and Partnerships pages say so: a family is then schools "
        "with a similar intake, not a yardstick for that result.",
    "Keys to Success and partnerships": "A rule you can read and change selects schools (by default KS4: at least 25% "
        "disadvantaged, at least 10 such pupils and their Progress 8 at -0.5 or below; KS2: at least 30%, 6 pupils "
        "and 35% or fewer at the expected standard). A matcher solves one assignment problem over all of them so "
        "that each gets a family member that is clearly stronger (the lower end of the 95% interval of the margin "
        "above zero), outside the radius, preferably in another LA, with no supporter taking more than 2 schools. "
        "That margin allows for how the two schools were picked. A school selected for a low figure, and a partner "
        "that is the best of about 20 family members, both owe part of their figure to luck, so their next figures "
        "are likely to be less extreme (regression to the mean; the winner's curse). Before the margin is taken, each "
        "figure is pulled toward its family's average, the more so the noisier it is (empirical Bayes: reliability = "
        "real spread² / (real spread² + noise²), the real spread between schools estimated from all schools by the "
        "method of moments). The published margin is shown beside it. Limits: the family average is itself an "
        "estimate, and the adjustment assumes schools' true figures spread normally around it; it shrinks, but does "
        "not remove, the advantage of being picked as the best. "
        "Progress is compared with matched schools that were not selected (difference-in-differences with a "
        "bootstrap interval), so regression to the mean is not mistaken for improvement. Until partnerships have "
        "results, a back-test from 2016/17 to 2018/19 is shown and labelled hypothetical.",
    "Neighbourhoods": "Results from 2022/23 on are read against IoD2025 (2021 LSOAs), older ones against IoD2019 "
        "(either can be chosen). IoD2019 deprivation is averaged as scores (IMD score rebuilt from the IoD2019 "
        "transformed domain scores; IDACI scores as published, else interpolated from rank), never ranks, weighted "
        "by population, over the LSOAs within 1.5 km of a school. IoD2025 publishes ranks and deciles only, so its "
        "LSOAs are combined by deciles: the share of the neighbourhood's LSOAs in each decile and in England's most "
        "deprived 20%, and their median decile; that share is what the line below receives with IoD2025. "
        "A school's location stands in for where its pupils live, which it does "
        "only roughly. Schools doing better or worse than their neighbourhood predicts come from a straight line of "
        "disadvantaged pupils' result on the neighbourhood's deprivation score. Schools really differ, beyond the "
        "noise of their results, so the line allows for that (a random-effects line): each school counts by 1 / (its "
        "noise² + the real spread between schools²), so a large school counts more than a small one but cannot "
        "dominate, and the slope's 95% interval is robust (it stays honest if the noise assumed is wrong). The page "
        "says which schools the line is fitted on (England, or the one or two LAs a year covers) and how much of the "
        "real differences between schools it explains: little, the neighbourhood around the building explains under "
        "1% of them across England in 2023/24 and under 20% on every measure and year we hold. A school is above or below its prediction only when its result lies outside "
        "the range where 95% of schools in such a neighbourhood fall, so about 5% are flagged by chance on any "
        "measure, and a larger share means some schools really stand out. Limits: the school's neighbourhood is not "
        "its pupils' homes, and a straight line may miss a curve.",
    "School profile and meeting packs": "Everything about one school on one page; packs as PDF and PowerPoint with "
        "static charts, a cover naming the data's years and sources, and an option to anonymise school names.",
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
