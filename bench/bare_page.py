import streamlit as st; st.write("A bare Streamlit page.")  # noqa: E702  (the anchor of bench/run.py's page times)
