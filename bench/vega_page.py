import pandas as pd; import streamlit as st; st.write("A page with one tiny Vega-Lite chart."); st.line_chart(pd.DataFrame({"y": [1, 3, 2]}))  # noqa: E702,E501  (floor: bench/run.py)
