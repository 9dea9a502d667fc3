from rest_framework.routers import DefaultRouter

from workitems.api.views import CustomerAssetViewSet, CustomerViewSet, DropoffPointViewSet, WorkItemViewSet

router = DefaultRouter()
router.register("workitems", WorkItemViewSet, basename="workitem")
router.register("customers", CustomerViewSet, basename="customer")
router.register("assets", CustomerAssetViewSet, basename="asset")
router.register("dropoff-points", DropoffPointViewSet, basename="dropoff-point")

urlpatterns = router.urls
