"""Guide: what each measure means, the method behind each page, a glossary, accessibility."""
import streamlit as st


from equity.present import guide

import pages._shared as _frame  # noqa: E402

_frame.route_through_frame()

st.title("Guide")
st.markdown("This dashboard shows where the gap between disadvantaged pupils and others is widest, whether it is "
            "closing, and which schools can learn from each other. It follows the Greater Manchester Challenge: "
            "look *within* schools (gaps by pupil group), *between* schools (families and partnerships) and "
            "*beyond* schools (neighbourhood deprivation).")
st.header("Measures")
st.dataframe(guide.measure_rows(), hide_index=True, width="stretch")
st.header("Methods")
for page, text in guide.METHODS.items():
    st.subheader(page)
    st.markdown(text)
st.header("Glossary")
for term, meaning in guide.GLOSSARY.items():
    st.markdown(f"**{term}.** {meaning}")
st.header("Accessibility statement")
st.markdown(guide.ACCESSIBILITY)
