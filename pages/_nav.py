"""The app's pages, in the order and sections of its navigation.

Plain data, so that the browser tests and the benchmarks can read the list without running the app
(importing dashboard.py would). tests/test_architecture.py checks every page file is listed.
"""

# (file, title, icon, url path). A page's url path is its file's
# name: a server's first request is resolved against the files in pages/ before this navigation
# exists (see pages/_shared.route_through_frame), so a deep link must name a file there too.
PAGES = {
    "Overview": [
        ("pages/overview.py", "LA overview", ":material/dashboard:", "overview"),
        ("pages/gaps.py", "Gap trends", ":material/show_chart:", "gaps"),
        ("pages/compare.py", "LA comparison", ":material/compare_arrows:", "compare"),
    ],
    "Schools": [
        ("pages/school.py", "School profile", ":material/school:", "school"),
        ("pages/families.py", "Families of schools", ":material/groups:", "families"),
        ("pages/neighbourhoods.py", "Neighbourhoods", ":material/map:", "neighbourhoods"),
    ],
    "Improvement": [
        ("pages/keys-to-success.py", "Keys to Success", ":material/key:", "keys-to-success"),
        ("pages/partnerships.py", "Partnerships", ":material/handshake:", "partnerships"),
        ("pages/meeting.py", "Meeting mode and packs", ":material/co_present:", "meeting"),
    ],
    "About": [
        ("pages/data.py", "Data", ":material/database:", "data"),
        ("pages/guide.py", "Guide", ":material/menu_book:", "guide"),
    ],
}
