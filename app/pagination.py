"""API pagination shared by every list endpoint."""

from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """Page-number pagination; clients may ask for up to 200 rows with ?page_size=."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200
